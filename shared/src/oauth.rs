//! Sign-in with an OAuth/OpenID provider in a popup. The server is the OAuth client; the widget
//! only opens the popup, receives a one-time code from it by `postMessage`, and redeems that
//! code with the PKCE verifier it kept (so a code seen by anyone else is useless).

use serde::{Deserialize, Serialize};

use crate::ids::SitePublicId;

/// `type` of the message the popup posts to `window.opener`:
/// `{type, site, provider, code}` on success, `{type, site, provider, linked: true}` when a
/// provider was linked, `{type, site, provider, error}` on failure.
pub const POPUP_MESSAGE_TYPE: &str = "palisade-oauth";

/// One sign-in button: `GET /api/v1/auth/oauth/providers?site=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthProvider {
    /// The path segment of `/api/v1/auth/oauth/{id}/start`.
    pub id: String,
    /// What the button says, e.g. "GitHub".
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthProviders {
    pub providers: Vec<OAuthProvider>,
}

/// `POST /api/v1/auth/oauth/exchange`: the popup's one-time code and the verifier whose S256
/// hash the widget gave `start`. Answered like a password sign-in (a session, or an MFA step).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthExchangeRequest {
    pub site: SitePublicId,
    pub code: String,
    pub code_verifier: String,
}

// Hand-written so the code and verifier never reach a log line.
impl std::fmt::Debug for OAuthExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthExchangeRequest").field("site", &self.site).finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/oauth/link` (signed in): asks to link `provider` to the caller's account.
/// The password is asked again: a stolen access token alone must not add a way into the account.
/// The answer's ticket goes on the popup's start URL as `link=<ticket>`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthLinkRequest {
    pub provider: String,
    pub password: String,
}

impl std::fmt::Debug for OAuthLinkRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthLinkRequest").field("provider", &self.provider).finish_non_exhaustive()
    }
}

/// A one-time ticket (5 minutes) for the popup that links a provider.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthLinkTicket {
    pub ticket: String,
    pub expires_in: u64,
}

impl std::fmt::Debug for OAuthLinkTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthLinkTicket").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/oauth/{provider}/unlink` (signed in), with the password again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthUnlinkRequest {
    pub password: String,
}

impl std::fmt::Debug for OAuthUnlinkRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthUnlinkRequest").finish_non_exhaustive()
    }
}

/// A provider the caller's account signs in with: `GET /api/v1/auth/oauth/identities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthIdentity {
    pub provider: String,
    pub label: String,
    pub linked_at: crate::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OAuthIdentities {
    pub identities: Vec<OAuthIdentity>,
}
