//! ID token verification (OpenID Connect Core 1.0, 3.1.3.7): signature by a published key with
//! an asymmetric algorithm, then issuer, audience, authorized party, expiry, issue time and
//! nonce. Only after all of them is the subject believed.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::OAuthError;
use super::jwks::KeySet;

/// Clock difference tolerated between us and the provider.
pub const LEEWAY_SECS: u64 = 60;
/// An ID token is used at once; one issued longer ago than this is a replay.
pub const MAX_AGE_SECS: i64 = 600;

/// Asymmetric algorithms only. `none` cannot be parsed into [`Algorithm`] at all, and HMAC is
/// refused so nobody can sign with the provider's *public* key as a shared secret.
const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// One string or a list; jsonwebtoken has matched it against our client id already.
    aud: serde_json::Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    iat: i64,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
}

/// Some providers send `"email_verified": "true"`.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s == "true",
        _ => false,
    })
}

/// What the token must match: from the transaction and the provider's configuration.
#[derive(Debug)]
pub struct Expected<'a> {
    /// Usually one; Google signs with either spelling of its issuer.
    pub issuers: &'a [&'a str],
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Unix seconds.
    pub now: i64,
}

pub async fn verify(
    http: &reqwest::Client,
    keys: &KeySet,
    token: &str,
    expected: &Expected<'_>,
) -> Result<Claims, OAuthError> {
    let bad = OAuthError::InvalidIdToken;
    let header = jsonwebtoken::decode_header(token).map_err(|_| bad("id_token_malformed"))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(bad("id_token_algorithm"));
    }
    let jwk = keys.find(http, header.kid.as_deref()).await?.ok_or(bad("id_token_unknown_key"))?;
    if let Some(alg) = jwk.common.key_algorithm
        && serde_json::to_value(alg).ok() != serde_json::to_value(header.alg).ok()
    {
        return Err(bad("id_token_algorithm"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| bad("id_token_unknown_key"))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECS;
    validation.set_issuer(expected.issuers);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        bad(match e.kind() {
            ErrorKind::InvalidSignature => "id_token_signature",
            ErrorKind::ExpiredSignature => "id_token_expired",
            ErrorKind::ImmatureSignature => "id_token_not_yet_valid",
            ErrorKind::InvalidIssuer => "id_token_issuer",
            ErrorKind::InvalidAudience => "id_token_audience",
            ErrorKind::InvalidAlgorithm => "id_token_algorithm",
            ErrorKind::MissingRequiredClaim(_) => "id_token_claims",
            _ => "id_token_invalid",
        })
    })?;
    let claims = data.claims;
    check_claims(&claims, expected)?;
    Ok(claims)
}

fn check_claims(claims: &Claims, expected: &Expected<'_>) -> Result<(), OAuthError> {
    let bad = OAuthError::InvalidIdToken;
    let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX);
    if claims.iat > expected.now + leeway || claims.iat < expected.now - MAX_AGE_SECS {
        return Err(bad("id_token_issued_at"));
    }
    // With several audiences, the party the token was issued to must be named, and be us.
    let several = claims.aud.as_array().is_some_and(|list| list.len() > 1);
    match claims.azp.as_deref() {
        Some(azp) if azp != expected.client_id => return Err(bad("id_token_authorized_party")),
        None if several => return Err(bad("id_token_authorized_party")),
        _ => {}
    }
    let nonce = claims.nonce.as_deref().ok_or(bad("id_token_nonce"))?;
    if !bool::from(nonce.as_bytes().ct_eq(expected.nonce.as_bytes())) {
        return Err(bad("id_token_nonce"));
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(bad("id_token_subject"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Claims {
        serde_json::from_value(json).unwrap()
    }

    const EXPECTED: Expected<'static> =
        Expected { issuers: &["https://id"], client_id: "palisade", nonce: "n1", now: 1000 };

    #[test]
    fn nonce_azp_and_issue_time_are_checked() {
        let ok = serde_json::json!({"sub": "s", "aud": "palisade", "iat": 1000, "nonce": "n1"});
        assert!(check_claims(&claims(ok.clone()), &EXPECTED).is_ok());
        let mut wrong_nonce = ok.clone();
        wrong_nonce["nonce"] = "n2".into();
        assert_eq!(check_claims(&claims(wrong_nonce), &EXPECTED).unwrap_err().reason(), "id_token_nonce");
        let mut no_nonce = ok.clone();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert!(check_claims(&claims(no_nonce), &EXPECTED).is_err());
        let mut many = ok.clone();
        many["aud"] = serde_json::json!(["palisade", "other"]);
        assert_eq!(check_claims(&claims(many.clone()), &EXPECTED).unwrap_err().reason(), "id_token_authorized_party");
        many["azp"] = "palisade".into();
        assert!(check_claims(&claims(many), &EXPECTED).is_ok());
        let mut other_azp = ok.clone();
        other_azp["azp"] = "other".into();
        assert!(check_claims(&claims(other_azp), &EXPECTED).is_err());
        for iat in [1000 + 61, 1000 - 601] {
            let mut at = ok.clone();
            at["iat"] = iat.into();
            assert_eq!(check_claims(&claims(at), &EXPECTED).unwrap_err().reason(), "id_token_issued_at");
        }
    }

    #[test]
    fn hmac_and_none_are_not_allowed() {
        assert!(!ALLOWED.contains(&Algorithm::HS256));
        assert!(serde_json::from_str::<Algorithm>("\"none\"").is_err());
    }
}
