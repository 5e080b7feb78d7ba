//! The OAuth 2 / OpenID Connect client: Palisade is a confidential client of each configured
//! provider; the provider's tokens stay on the server and only the verified identity leaves here.
//!
//! - [`provider`]: one configured provider: authorization URL, code exchange, identity.
//! - [`discovery`]: an OpenID provider's metadata, fetched once from its issuer URL.
//! - [`jwks`]: the provider's signing keys, cached and re-fetched when a token names a new one.
//! - [`id_token`]: the checks an ID token must pass before its subject is believed.
//! - [`github`]: GitHub, which speaks OAuth 2 but not OpenID Connect.
//! - [`pkce`]: checking the verifier the widget redeems its one-time code with.

pub mod discovery;
pub mod github;
pub mod id_token;
pub mod jwks;
pub mod pkce;
pub mod provider;

pub use provider::{Identity, Provider, ProviderKind, ProviderSettings};

use thiserror::Error;

/// Why a sign-in with a provider failed. The variants are what an audit event names; none of
/// them carries a token or a code.
#[derive(Debug, Error)]
pub enum OAuthError {
    #[error("the provider could not be reached or answered badly: {0}")]
    Provider(String),
    #[error("the provider's metadata is unusable: {0}")]
    Metadata(String),
    #[error("the provider refused the authorization code")]
    CodeRejected,
    #[error("the response names another issuer (mix-up)")]
    IssuerMismatch,
    #[error("the ID token is missing")]
    MissingIdToken,
    #[error("the ID token is invalid: {0}")]
    InvalidIdToken(&'static str),
    #[error("the provider gave no usable account identity")]
    NoIdentity,
}

impl OAuthError {
    /// A stable, short reason for audit details and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Provider(_) => "provider_unreachable",
            Self::Metadata(_) => "provider_metadata",
            Self::CodeRejected => "code_rejected",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::MissingIdToken => "id_token_missing",
            Self::InvalidIdToken(why) => why,
            Self::NoIdentity => "no_identity",
        }
    }
}

/// Providers may be reached over plain HTTP only on loopback (tests, a local IdP in
/// development); anywhere else a man in the middle could mint identities.
pub(crate) fn require_secure(url: &reqwest::Url) -> Result<(), OAuthError> {
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        Ok(())
    } else {
        Err(OAuthError::Metadata(format!("{url} must be https")))
    }
}

/// The client every provider call goes through: no redirects (a provider endpoint that
/// redirects is misconfigured or hijacked) and bounded time.
pub(crate) fn http_client() -> Result<reqwest::Client, OAuthError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| OAuthError::Provider(e.to_string()))
}

pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: reqwest::Url,
    bearer: Option<&str>,
) -> Result<T, OAuthError> {
    require_secure(&url)?;
    let mut request = http.get(url).header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| OAuthError::Provider(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(OAuthError::Provider(format!("answered {}", response.status())));
    }
    response.json().await.map_err(|e| OAuthError::Provider(e.without_url().to_string()))
}
