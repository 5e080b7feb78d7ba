//! Registration and sign-in bodies.

use serde::{Deserialize, Serialize};

use crate::ids::{SessionId, SitePublicId};
use crate::time::Timestamp;

/// The header every cookie-authenticated request must carry. Browsers only let a page set a
/// custom header on a cross-origin request after a CORS preflight the server approves for that
/// page's origin, so a form or link on another site cannot produce it.
pub const CSRF_HEADER: &str = "x-palisade-csrf";

/// The refresh cookie of a site. One cookie per site, so two sites embedding the same server
/// under one top-level site never overwrite each other's session.
pub fn refresh_cookie_name(site: &SitePublicId) -> String {
    format!("__Host-palisade_refresh_{site}")
}

/// `POST /api/v1/auth/register`: mails a link to finish creating the account, or, when the
/// email already has one, a note saying so with a password-reset link. The answer is the same
/// either way, so nobody learns from it which emails have accounts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub site: SitePublicId,
    pub email: String,
    /// The page the link should open (the widget's host page); must be on an origin the site
    /// allows.
    pub return_to: String,
}

/// The fragment key of a sign-up link: `<page>#palisade-sign-up=<token>`.
pub const SIGN_UP_FRAGMENT: &str = "palisade-sign-up";

/// `POST /api/v1/auth/register/complete`: the token from a sign-up link, with the name and
/// password the account gets. Only whoever reads the mailbox chooses the password, so nobody
/// can prepare an account in someone else's name and wait for them to use it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompleteSignUpRequest {
    pub site: SitePublicId,
    pub token: String,
    pub display_name: String,
    pub password: String,
}

/// `POST /api/v1/auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub site: SitePublicId,
    pub email: String,
    pub password: String,
}

// Hand-written so a password can never reach a log line through `{:?}`.
impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest").field("site", &self.site).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CompleteSignUpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompleteSignUpRequest")
            .field("site", &self.site)
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("site", &self.site).finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`: the refresh cookie of `site`
/// does the authenticating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub site: SitePublicId,
}

/// `POST /api/v1/auth/password`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePasswordRequest").finish_non_exhaustive()
    }
}

/// The fragment key of a password-reset link: `<page>#palisade-reset=<token>`. A fragment is
/// never sent to the host page's server or in a Referer, so the token stays in the browser.
pub const RESET_FRAGMENT: &str = "palisade-reset";

/// `POST /api/v1/auth/password/forgot`: mails a reset link if the email has an account; the
/// answer is the same either way.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    pub site: SitePublicId,
    pub email: String,
    /// The page the link should open (the widget's host page); must be on an origin the site
    /// allows.
    pub return_to: String,
}

impl std::fmt::Debug for ForgotPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForgotPasswordRequest").field("site", &self.site).finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/password/reset`: the token from the link and the new password. Signs
/// nobody in: the person then signs in as usual, second factor included.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub site: SitePublicId,
    pub token: String,
    pub new_password: String,
}

impl std::fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPasswordRequest").field("site", &self.site).finish_non_exhaustive()
    }
}

/// One signed-in device, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: SessionId,
    /// Browser and system, from the user agent at sign-in (e.g. "Firefox on Linux").
    pub device: String,
    /// The network signed in from: an IPv4 /24 or IPv6 /48, never the full address.
    pub network: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// `GET /api/v1/auth/sessions`: live sessions, most recently used first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// The only token type the API issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenType {
    Bearer,
}

/// A successful sign-in (or registration, which signs the new person in).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// A short-lived bearer token; keep it in memory only.
    pub access_token: String,
    pub token_type: TokenType,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    /// The person's role requires a second factor they have not set up: until they do, the
    /// session may only set one up (every other call answers `mfa_enrolment_required`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_enrolment_required: bool,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}
