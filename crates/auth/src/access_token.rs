//! Short-lived access tokens: JWTs signed with HS256 under a 256-bit server key.
//!
//! Verification pins the algorithm, the `typ` header, the issuer and the audience, and requires
//! `exp`, `iat`, `sub` and `jti`; anything else is refused. The `kid` header names the key by a
//! fingerprint so a later key rotation can tell keys apart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use palisade_protocol::{SessionId, SitePublicId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// RFC 9068's media type for JWT access tokens; refusing other `typ`s stops a token minted for
/// another purpose (an ID token, say) from being replayed as an access token.
pub const TOKEN_TYPE: &str = "at+jwt";
/// The audience of every access token: this API.
pub const AUDIENCE: &str = "palisade-api";
/// The smallest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Error)]
pub enum AccessTokenError {
    #[error("the signing key must be at least {MIN_KEY_BYTES} bytes")]
    KeyTooShort,
    #[error("the access token is invalid or expired")]
    Invalid,
    #[error("could not sign an access token: {0}")]
    Signing(String),
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    /// The site the person signed in to; the token is worthless on any other.
    pub site: SitePublicId,
    /// The session the token was issued for; ending the session ends the token too.
    pub sid: SessionId,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// Issues and verifies access tokens.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    key_id: String,
    /// The key signing was rotated away from: its tokens stay valid until they expire, so a key
    /// change does not sign everyone out. Never used to sign.
    previous: Option<(String, DecodingKey)>,
    issuer: String,
    ttl: Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("key_id", &self.key_id)
            .field("previous_key_id", &self.previous.as_ref().map(|(id, _)| id))
            .field("issuer", &self.issuer)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A fingerprint of the key, so it reveals nothing usable about it.
fn key_id(key: &[u8]) -> String {
    hex::encode(&Sha256::digest(key)[..8])
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl AccessTokens {
    pub fn new(key: &[u8], issuer: impl Into<String>, ttl: Duration) -> Result<Self, AccessTokenError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(AccessTokenError::KeyTooShort);
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            key_id: key_id(key),
            previous: None,
            issuer: issuer.into(),
            ttl,
        })
    }

    /// Also accepts tokens signed with `key` (told apart by `kid`), during a key rotation.
    pub fn with_previous_key(mut self, key: &[u8]) -> Result<Self, AccessTokenError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(AccessTokenError::KeyTooShort);
        }
        self.previous = Some((key_id(key), DecodingKey::from_secret(key)));
        Ok(self)
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new token for `user` on `site`, within session `sid`.
    pub fn issue(&self, user: UserId, site: SitePublicId, sid: SessionId) -> Result<String, AccessTokenError> {
        let iat = now_secs();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: user,
            site,
            sid,
            iat,
            exp: iat + self.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(self.key_id.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| AccessTokenError::Signing(e.to_string()))
    }

    /// The claims of a token this server issued and that has not expired.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AccessTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessTokenError::Invalid)?;
        if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(AccessTokenError::Invalid);
        }
        let decoding = match (header.kid.as_deref(), &self.previous) {
            (Some(kid), _) if kid == self.key_id => &self.decoding,
            (Some(kid), Some((previous, decoding))) if kid == previous => decoding,
            _ => return Err(AccessTokenError::Invalid),
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<AccessClaims>(token, decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| AccessTokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64_free::b64url;

    const KEY: [u8; 32] = [7; 32];

    fn tokens() -> AccessTokens {
        AccessTokens::new(&KEY, "https://chat.example", Duration::from_secs(600)).unwrap()
    }

    fn user() -> UserId {
        UserId(uuid::Uuid::from_u128(42))
    }

    fn site() -> SitePublicId {
        "demo".parse().unwrap()
    }

    fn sid() -> SessionId {
        SessionId(uuid::Uuid::from_u128(7))
    }

    /// Base64url without padding, enough to forge headers in tests without another dependency.
    mod base64_free {
        pub fn b64url(bytes: &[u8]) -> String {
            const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_claims() {
        let t = tokens();
        let claims = t.verify(&t.issue(user(), site(), sid()).unwrap()).unwrap();
        assert_eq!(claims.sub, user());
        assert_eq!(claims.site, site());
        assert_eq!(claims.sid, sid());
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.exp - claims.iat, 600);
    }

    #[test]
    fn after_a_key_rotation_tokens_of_the_previous_key_last_until_they_expire() {
        let old = tokens();
        let token = old.issue(user(), site(), sid()).unwrap();
        let rotated = AccessTokens::new(&[8; 32], "https://chat.example", Duration::from_secs(600)).unwrap();
        assert!(rotated.verify(&token).is_err(), "without the previous key, old tokens die at once");
        let rotated = rotated.with_previous_key(&KEY).unwrap();
        assert_eq!(rotated.verify(&token).unwrap().sub, user());
        let fresh = rotated.issue(user(), site(), sid()).unwrap();
        assert!(old.verify(&fresh).is_err(), "new tokens are signed with the new key only");
        assert!(rotated.verify(&fresh).is_ok());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(AccessTokens::new(&[1; 16], "x", Duration::from_secs(1)), Err(AccessTokenError::KeyTooShort)));
    }

    #[test]
    fn tokens_from_another_key_issuer_or_expired_are_refused() {
        let token = tokens().issue(user(), site(), sid()).unwrap();
        let other_key = AccessTokens::new(&[8; 32], "https://chat.example", Duration::from_secs(600)).unwrap();
        assert!(other_key.verify(&token).is_err());
        let other_issuer = AccessTokens::new(&KEY, "https://evil.example", Duration::from_secs(600)).unwrap();
        assert!(other_issuer.verify(&token).is_err());
        assert!(other_issuer.verify(&other_issuer.issue(user(), site(), sid()).unwrap()).is_ok());

        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.into());
        header.kid = Some(tokens().key_id.clone());
        let stale = AccessClaims {
            iss: "https://chat.example".into(),
            aud: AUDIENCE.into(),
            sub: user(),
            site: site(),
            sid: sid(),
            iat: now_secs() - 4000,
            exp: now_secs() - 3000,
            jti: "x".into(),
        };
        let expired = jsonwebtoken::encode(&header, &stale, &EncodingKey::from_secret(&KEY)).unwrap();
        assert!(tokens().verify(&expired).is_err());
    }

    #[test]
    fn alg_none_and_wrong_typ_are_refused() {
        let t = tokens();
        let real = t.issue(user(), site(), sid()).unwrap();
        let payload = real.split('.').nth(1).unwrap();
        let none_header = b64url(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, t.key_id).as_bytes());
        assert!(t.verify(&format!("{none_header}.{payload}.")).is_err());

        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".into());
        header.kid = Some(t.key_id.clone());
        let claims = t.verify(&real).unwrap();
        let wrong_typ = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&KEY)).unwrap();
        assert!(t.verify(&wrong_typ).is_err());
    }

    #[test]
    fn tampered_payloads_are_refused() {
        let t = tokens();
        let real = t.issue(user(), site(), sid()).unwrap();
        let parts: Vec<&str> = real.split('.').collect();
        let forged_payload = b64url(
            serde_json::to_string(&AccessClaims { site: "other".parse().unwrap(), ..t.verify(&real).unwrap() })
                .unwrap()
                .as_bytes(),
        );
        assert!(t.verify(&format!("{}.{forged_payload}.{}", parts[0], parts[2])).is_err());
    }
}
