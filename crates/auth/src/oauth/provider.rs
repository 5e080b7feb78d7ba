//! One configured provider and the two halves of a sign-in with it: where to send the browser,
//! and what to make of the code that comes back.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::discovery::{self, Metadata};
use super::id_token::{self, Expected};
use super::jwks::KeySet;
use super::{OAuthError, github, http_client};

const GOOGLE_ISSUER: &str = "https://accounts.google.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenID Connect provider, found by discovery from its issuer URL.
    Oidc,
    /// GitHub: OAuth 2 and its REST API (no ID token).
    Github,
    /// Google: OpenID Connect at a fixed issuer.
    Google,
}

impl ProviderKind {
    /// The least each kind needs to name a person.
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Self::Oidc | Self::Google => &["openid", "email", "profile"],
            Self::Github => &["read:user", "user:email"],
        }
    }
}

#[derive(Clone)]
pub struct ProviderSettings {
    /// Our name for it: the path segment and the key of accounts, e.g. `github`.
    pub id: String,
    pub kind: ProviderKind,
    /// The issuer URL of an `oidc` provider; for `github`, a GitHub Enterprise Server's
    /// address (github.com when absent); ignored for `google`.
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    /// Exactly what is registered at the provider.
    pub redirect_uri: String,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Who the provider says signed in. `email` is set only when the provider vouches that it is
/// verified; it is kept for display, never used to find or merge accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl oauth2::ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type Client = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Debug)]
struct Oidc {
    metadata: Metadata,
    keys: KeySet,
}

#[derive(Debug)]
pub struct Provider {
    settings: ProviderSettings,
    http: reqwest::Client,
    /// Discovered on first use, so a provider that is down at start-up does not stop the server.
    oidc: OnceCell<Oidc>,
    /// Set for the `github` kind, which has no discovery.
    github: Option<github::Endpoints>,
}

impl Provider {
    pub fn new(mut settings: ProviderSettings) -> Result<Self, OAuthError> {
        let mut github = None;
        match settings.kind {
            ProviderKind::Oidc => {
                let issuer =
                    settings.issuer.as_deref().ok_or(OAuthError::Metadata("an oidc provider needs issuer".into()))?;
                let url = reqwest::Url::parse(issuer).map_err(|e| OAuthError::Metadata(e.to_string()))?;
                super::require_secure(&url)?;
            }
            ProviderKind::Google => settings.issuer = Some(GOOGLE_ISSUER.into()),
            ProviderKind::Github => {
                if let Some(server) = settings.issuer.as_deref() {
                    let url = reqwest::Url::parse(server).map_err(|e| OAuthError::Metadata(e.to_string()))?;
                    super::require_secure(&url)?;
                }
                github = Some(github::Endpoints::of(settings.issuer.take().as_deref()));
            }
        }
        if settings.scopes.is_empty() {
            settings.scopes = settings.kind.default_scopes().iter().map(|s| (*s).to_owned()).collect();
        }
        if settings.kind != ProviderKind::Github && !settings.scopes.iter().any(|s| s == "openid") {
            settings.scopes.insert(0, "openid".into());
        }
        RedirectUrl::new(settings.redirect_uri.clone()).map_err(|e| OAuthError::Metadata(e.to_string()))?;
        Ok(Self { settings, http: http_client()?, oidc: OnceCell::new(), github })
    }

    pub fn id(&self) -> &str {
        &self.settings.id
    }

    pub fn kind(&self) -> ProviderKind {
        self.settings.kind
    }

    /// A fresh PKCE verifier for one transaction (S256 is the only method we send).
    pub fn new_pkce_verifier() -> String {
        PkceCodeChallenge::new_random_sha256().1.into_secret()
    }

    async fn oidc(&self) -> Result<Option<&Oidc>, OAuthError> {
        let Some(issuer) = self.settings.issuer.as_deref() else { return Ok(None) };
        let oidc = self
            .oidc
            .get_or_try_init(|| async {
                let metadata = discovery::discover(&self.http, issuer).await?;
                let jwks = reqwest::Url::parse(&metadata.jwks_uri).map_err(|e| OAuthError::Metadata(e.to_string()))?;
                Ok::<_, OAuthError>(Oidc { metadata, keys: KeySet::new(jwks) })
            })
            .await?;
        Ok(Some(oidc))
    }

    /// A provider without discovery is GitHub, whose endpoints are known.
    fn github_endpoints(&self) -> Result<&github::Endpoints, OAuthError> {
        self.github.as_ref().ok_or_else(|| OAuthError::Metadata("no endpoints for this provider".into()))
    }

    async fn client(&self) -> Result<Client, OAuthError> {
        let (auth, token) = match self.oidc().await? {
            Some(oidc) => (oidc.metadata.authorization_endpoint.clone(), oidc.metadata.token_endpoint.clone()),
            None => {
                let github = self.github_endpoints()?;
                (github.authorize.clone(), github.token.clone())
            }
        };
        let metadata = |e: oauth2::url::ParseError| OAuthError::Metadata(e.to_string());
        Ok(oauth2::Client::new(ClientId::new(self.settings.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.settings.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(auth).map_err(metadata)?)
            .set_token_uri(TokenUrl::new(token).map_err(metadata)?)
            .set_redirect_uri(RedirectUrl::new(self.settings.redirect_uri.clone()).map_err(metadata)?))
    }

    /// Where to send the browser: exact redirect URI, state, nonce (OIDC) and an S256 challenge.
    pub async fn authorization_url(&self, state: &str, nonce: &str, pkce_verifier: &str) -> Result<String, OAuthError> {
        let client = self.client().await?;
        let verifier = PkceCodeVerifier::new(pkce_verifier.to_owned());
        let state = state.to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(self.settings.scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
        if self.settings.kind != ProviderKind::Github {
            request = request.add_extra_param("nonce", nonce);
        }
        Ok(request.url().0.into())
    }

    /// The issuer an authorization response must name (RFC 9207), if the provider has one.
    async fn expected_issuer(&self) -> Result<Option<(String, bool)>, OAuthError> {
        Ok(match self.oidc().await? {
            Some(oidc) => {
                Some((oidc.metadata.issuer.clone(), oidc.metadata.authorization_response_iss_parameter_supported))
            }
            None => Some((self.github_endpoints()?.issuer.clone(), false)),
        })
    }

    /// Checks the callback's `iss`, exchanges the code as a confidential client, verifies the
    /// ID token (or asks GitHub's API) and returns who signed in.
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        iss_parameter: Option<&str>,
    ) -> Result<Identity, OAuthError> {
        if let Some((issuer, always_sent)) = self.expected_issuer().await? {
            match iss_parameter {
                Some(iss) if iss != issuer => return Err(OAuthError::IssuerMismatch),
                None if always_sent => return Err(OAuthError::IssuerMismatch),
                _ => {}
            }
        }
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(_) => OAuthError::CodeRejected,
                other => OAuthError::Provider(other.to_string()),
            })?;
        let Some(oidc) = self.oidc().await? else {
            return github::identity(&self.http, self.github_endpoints()?, tokens.access_token().secret()).await;
        };
        let id_token = tokens.extra_fields().id_token.as_deref().ok_or(OAuthError::MissingIdToken)?;
        let mut issuers = vec![oidc.metadata.issuer.as_str()];
        if self.settings.kind == ProviderKind::Google {
            issuers.push("accounts.google.com");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let expected = Expected { issuers: &issuers, client_id: &self.settings.client_id, nonce, now };
        let claims = id_token::verify(&self.http, &oidc.keys, id_token, &expected).await?;
        Ok(Identity { email: claims.email.filter(|_| claims.email_verified), name: claims.name, subject: claims.sub })
    }
}
