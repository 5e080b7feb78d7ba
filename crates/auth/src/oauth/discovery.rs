//! OpenID Connect discovery: the endpoints and keys of a provider, read from its issuer URL.

use serde::Deserialize;

use super::{OAuthError, get_json, require_secure};

/// What Palisade needs from `/.well-known/openid-configuration`.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Fetches the metadata of `issuer`. The document must name exactly that issuer (OpenID
/// Connect Discovery 1.0, section 4.3): otherwise one provider could speak for another.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Metadata, OAuthError> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let url = reqwest::Url::parse(&url).map_err(|e| OAuthError::Metadata(e.to_string()))?;
    let metadata: Metadata = get_json(http, url, None).await?;
    if metadata.issuer != issuer {
        return Err(OAuthError::Metadata("the discovery document names another issuer".into()));
    }
    for endpoint in [&metadata.authorization_endpoint, &metadata.token_endpoint, &metadata.jwks_uri] {
        let url = reqwest::Url::parse(endpoint).map_err(|e| OAuthError::Metadata(e.to_string()))?;
        require_secure(&url)?;
    }
    Ok(metadata)
}
