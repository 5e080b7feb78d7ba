//! REST calls to the chat server. Requests are cross-origin from the host page. Only the six
//! calls that start, renew or end a session carry cookies (the server's HttpOnly refresh cookie,
//! which this code never reads); everything else is authenticated by the bearer token alone,
//! sent only in a header.

use gloo_net::http::{Request, RequestBuilder, Response};
use palisade_protocol::auth::{
    CSRF_HEADER, ChangePasswordRequest, CompleteSignUpRequest, ForgotPasswordRequest, LoginRequest, RegisterRequest,
    ResetPasswordRequest, SessionList, SessionRequest, TokenResponse,
};
use palisade_protocol::limits::HISTORY_PAGE_DEFAULT;
use palisade_protocol::messages::{Author, EditMessage, HistoryPage, MessageView};
use palisade_protocol::mfa::{
    MfaChallenge, MfaStatus, MfaVerifyRequest, ReauthRequest, RecoveryCodes, TotpConfirmRequest, TotpEnrollment,
};
use palisade_protocol::oauth::{OAuthExchangeRequest, OAuthProviders};
use palisade_protocol::presence::OnlineList;
use palisade_protocol::rooms::{ReadMarker, RoomList, RoomSummary, StartSupport};
use palisade_protocol::sites::SiteInfo;
use palisade_protocol::{ErrorBody, ErrorCode, MessageId, RoomId, SessionId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use web_sys::{ReferrerPolicy, RequestCredentials};

use crate::config::Config;
use crate::error_text;
use crate::i18n::t;
use crate::session::AccessToken;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The server refused with a readable `ErrorBody`.
    Server { code: ErrorCode, message: String, retry_after: Option<u64> },
    /// A non-2xx answer without a readable body (a proxy, a crash page).
    Status(u16),
    /// No answer at all: offline, CORS refused, or the server's certificate is not trusted.
    Network,
    /// A 2xx answer that is not the documented shape.
    Decode,
}

impl ApiError {
    /// What a call that needs a session gets once there is none (any more).
    pub fn signed_out() -> Self {
        Self::Server { code: ErrorCode::Unauthenticated, message: String::new(), retry_after: None }
    }

    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The server's `Retry-After`, in seconds, when it sent one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Worth trying again unchanged: nothing was decided, the server or the network was busy.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Server { code, .. } => matches!(code, ErrorCode::RateLimited | ErrorCode::ServerBusy),
            Self::Status(status) => *status >= 500,
            Self::Network => true,
            Self::Decode => false,
        }
    }

    pub fn user_message(&self) -> String {
        match self {
            Self::Server { code, message, retry_after } => error_text::for_code(*code, message, *retry_after),
            Self::Status(status) => (t().server_status)(*status),
            Self::Network => t().unreachable.to_owned(),
            Self::Decode => t().not_understood.to_owned(),
        }
    }
}

/// The site's name and whether it takes sign-ups.
pub async fn site_info(config: &Config) -> Result<SiteInfo, ApiError> {
    let path = format!("/sites/{}", config.site());
    read(base(Request::get(&config.api_url(&path)), RequestCredentials::Omit).send().await).await
}

/// Asks for a sign-up link to `email` that opens `return_to`; the answer is the same whether
/// or not the email has an account.
pub async fn register(config: &Config, email: String, return_to: String) -> Result<(), ApiError> {
    let body = RegisterRequest { site: config.site().clone(), email, return_to };
    let request = base(Request::post(&config.api_url("/auth/register")), RequestCredentials::Omit)
        .json(&body)
        .map_err(|_| ApiError::Decode)?;
    read_empty(request.send().await).await
}

/// Creates the account of a sign-up link and signs in; sets the refresh cookie.
pub async fn complete_sign_up(
    config: &Config,
    token: String,
    display_name: String,
    password: String,
) -> Result<TokenResponse, ApiError> {
    let body = CompleteSignUpRequest { site: config.site().clone(), token, display_name, password };
    let request = with_cookie(Request::post(&config.api_url("/auth/register/complete")))
        .json(&body)
        .map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

/// What a right password (or a provider's sign-in) leads to: a session, or (202) the
/// second-factor step.
#[derive(Debug)]
pub enum SignIn {
    Done(TokenResponse),
    Mfa(MfaChallenge),
    /// A call that signs nobody in succeeded (a reset link asked for, a password reset).
    Nothing,
}

pub async fn login(config: &Config, email: String, password: String) -> Result<SignIn, ApiError> {
    let body = LoginRequest { site: config.site().clone(), email, password };
    let request =
        with_cookie(Request::post(&config.api_url("/auth/login"))).json(&body).map_err(|_| ApiError::Decode)?;
    read_sign_in(request.send().await).await
}

/// The sign-in buttons the site offers; none is an empty list.
pub async fn oauth_providers(config: &Config) -> Result<OAuthProviders, ApiError> {
    let path = format!("/auth/oauth/providers?site={}", config.site());
    read(base(Request::get(&config.api_url(&path)), RequestCredentials::Omit).send().await).await
}

/// Redeems the one-time code a provider's popup posted, with the PKCE verifier whose challenge
/// opened it; answered like [`login`].
pub async fn oauth_exchange(config: &Config, code: String, code_verifier: String) -> Result<SignIn, ApiError> {
    let body = OAuthExchangeRequest { site: config.site().clone(), code, code_verifier };
    let request = with_cookie(Request::post(&config.api_url("/auth/oauth/exchange")))
        .json(&body)
        .map_err(|_| ApiError::Decode)?;
    read_sign_in(request.send().await).await
}

/// A session (200, sets the refresh cookie), or the second-factor step (202).
async fn read_sign_in(sent: Result<Response, gloo_net::Error>) -> Result<SignIn, ApiError> {
    let response = ok(sent).await?;
    if response.status() == 202 {
        response.json().await.map(SignIn::Mfa).map_err(|_| ApiError::Decode)
    } else {
        response.json().await.map(SignIn::Done).map_err(|_| ApiError::Decode)
    }
}

/// Completes a sign-in with an authenticator or recovery code; sets the refresh cookie.
pub async fn mfa_verify(config: &Config, ticket: String, code: String) -> Result<TokenResponse, ApiError> {
    let body = MfaVerifyRequest { site: config.site().clone(), ticket, code };
    let request =
        with_cookie(Request::post(&config.api_url("/auth/mfa/verify"))).json(&body).map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

pub async fn mfa_status(config: &Config, token: &AccessToken) -> Result<MfaStatus, ApiError> {
    read(bearer(Request::get(&config.api_url("/auth/mfa")), token).send().await).await
}

/// A new authenticator secret, active only once [`totp_confirm`] gets a right code.
pub async fn totp_enroll(config: &Config, token: &AccessToken) -> Result<TotpEnrollment, ApiError> {
    read(bearer(Request::post(&config.api_url("/auth/mfa/totp")), token).send().await).await
}

pub async fn totp_confirm(config: &Config, token: &AccessToken, code: String) -> Result<RecoveryCodes, ApiError> {
    let request = bearer(Request::post(&config.api_url("/auth/mfa/totp/confirm")), token)
        .json(&TotpConfirmRequest { code })
        .map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

pub async fn totp_disable(config: &Config, token: &AccessToken, password: String) -> Result<(), ApiError> {
    let request = bearer(Request::post(&config.api_url("/auth/mfa/totp/disable")), token)
        .json(&ReauthRequest { password })
        .map_err(|_| ApiError::Decode)?;
    read_empty(request.send().await).await
}

pub async fn new_recovery_codes(
    config: &Config,
    token: &AccessToken,
    password: String,
) -> Result<RecoveryCodes, ApiError> {
    let request = bearer(Request::post(&config.api_url("/auth/mfa/recovery-codes")), token)
        .json(&ReauthRequest { password })
        .map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

/// Asks for a reset link to `return_to`; the answer is the same whether the email has an account.
pub async fn forgot_password(config: &Config, email: String, return_to: String) -> Result<(), ApiError> {
    let body = ForgotPasswordRequest { site: config.site().clone(), email, return_to };
    let request = base(Request::post(&config.api_url("/auth/password/forgot")), RequestCredentials::Omit)
        .json(&body)
        .map_err(|_| ApiError::Decode)?;
    read_empty(request.send().await).await
}

pub async fn reset_password(config: &Config, token: String, new_password: String) -> Result<(), ApiError> {
    let body = ResetPasswordRequest { site: config.site().clone(), token, new_password };
    let request = base(Request::post(&config.api_url("/auth/password/reset")), RequestCredentials::Omit)
        .json(&body)
        .map_err(|_| ApiError::Decode)?;
    read_empty(request.send().await).await
}

/// Trades the refresh cookie for a new access token (and a new cookie). Run it only under the
/// refresh lock (`Chat::renew`): the cookie rotates, and a replayed one ends the session.
pub async fn refresh(config: &Config) -> Result<TokenResponse, ApiError> {
    read(session_request(config, "/auth/refresh")?.send().await).await
}

/// Ends the session the refresh cookie belongs to; the server deletes the cookie.
pub async fn logout(config: &Config) -> Result<(), ApiError> {
    read_empty(session_request(config, "/auth/logout")?.send().await).await
}

pub async fn sessions(config: &Config, token: &AccessToken) -> Result<SessionList, ApiError> {
    read(bearer(Request::get(&config.api_url("/auth/sessions")), token).send().await).await
}

pub async fn end_session(config: &Config, token: &AccessToken, id: SessionId) -> Result<(), ApiError> {
    let request = bearer(Request::delete(&config.api_url(&format!("/auth/sessions/{id}"))), token);
    read_empty(request.send().await).await
}

pub async fn change_password(
    config: &Config,
    token: &AccessToken,
    current_password: String,
    new_password: String,
) -> Result<(), ApiError> {
    let body = ChangePasswordRequest { current_password, new_password };
    let request =
        bearer(Request::post(&config.api_url("/auth/password")), token).json(&body).map_err(|_| ApiError::Decode)?;
    read_empty(request.send().await).await
}

pub async fn rooms(config: &Config, token: &AccessToken) -> Result<RoomList, ApiError> {
    read(bearer(Request::get(&config.api_url("/rooms")), token).send().await).await
}

/// Who on the site has a connection open now.
pub async fn presence(config: &Config, token: &AccessToken) -> Result<OnlineList, ApiError> {
    read(bearer(Request::get(&config.api_url("/presence")), token).send().await).await
}

/// A new support conversation with the site's staff.
pub async fn start_support(config: &Config, token: &AccessToken) -> Result<RoomSummary, ApiError> {
    let request = bearer(Request::post(&config.api_url("/rooms/support")), token)
        .json(&StartSupport::default())
        .map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

/// Everything up to `seq` in `room` has been read.
pub async fn mark_read(config: &Config, token: &AccessToken, room: RoomId, seq: u64) -> Result<(), ApiError> {
    let request = bearer(Request::put(&config.api_url(&format!("/rooms/{room}/read"))), token)
        .json(&ReadMarker { seq })
        .map_err(|_| ApiError::Decode)?;
    read_empty(request.send().await).await
}

/// The part of a `MemberList` the widget shows: decoding the roles too would only grow the bundle.
#[derive(Debug, Deserialize)]
pub struct Readers {
    pub members: Vec<Reader>,
}

/// One person in a room and how far they have read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reader {
    pub user: Author,
    pub read_seq: u64,
}

/// Who is in `room`, and how far each has read.
pub async fn members(config: &Config, token: &AccessToken, room: RoomId) -> Result<Readers, ApiError> {
    read(bearer(Request::get(&config.api_url(&format!("/rooms/{room}/members"))), token).send().await).await
}

/// A new text for one of the person's own messages; the answer is the message as stored.
pub async fn edit_message(
    config: &Config,
    token: &AccessToken,
    room: RoomId,
    id: MessageId,
    body: String,
) -> Result<MessageView, ApiError> {
    let request = bearer(Request::patch(&config.api_url(&format!("/rooms/{room}/messages/{id}"))), token)
        .json(&EditMessage { body })
        .map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

/// Deletes a message: the person's own, or as staff someone else's.
pub async fn delete_message(config: &Config, token: &AccessToken, room: RoomId, id: MessageId) -> Result<(), ApiError> {
    let request = bearer(Request::delete(&config.api_url(&format!("/rooms/{room}/messages/{id}"))), token);
    read_empty(request.send().await).await
}

/// The newest page, or with `before` the page of messages older than that `seq`.
pub async fn history(
    config: &Config,
    token: &AccessToken,
    room: RoomId,
    before: Option<u64>,
) -> Result<HistoryPage, ApiError> {
    let mut path = format!("/rooms/{room}/messages?limit={HISTORY_PAGE_DEFAULT}");
    if let Some(before) = before {
        path.push_str(&format!("&before={before}"));
    }
    read(bearer(Request::get(&config.api_url(&path)), token).send().await).await
}

/// The host page's URL is never leaked as a Referer.
fn base(builder: RequestBuilder, credentials: RequestCredentials) -> RequestBuilder {
    builder.credentials(credentials).referrer_policy(ReferrerPolicy::NoReferrer).header("Accept", "application/json")
}

/// No cookies: the bearer token is the credential.
fn bearer(builder: RequestBuilder, token: &AccessToken) -> RequestBuilder {
    base(builder, RequestCredentials::Omit).header("Authorization", &token.authorization())
}

/// With cookies, so the browser stores the refresh cookie a cross-origin answer sets (it
/// ignores `Set-Cookie` otherwise) and sends it back.
fn with_cookie(builder: RequestBuilder) -> RequestBuilder {
    base(builder, RequestCredentials::Include)
}

/// The cookie-authenticated calls also carry the CSRF header, which no form or link of another
/// page can send.
fn session_request(config: &Config, path: &str) -> Result<Request, ApiError> {
    with_cookie(Request::post(&config.api_url(path)))
        .header(CSRF_HEADER, "1")
        .json(&SessionRequest { site: config.site().clone() })
        .map_err(|_| ApiError::Decode)
}

async fn read<T: DeserializeOwned>(sent: Result<Response, gloo_net::Error>) -> Result<T, ApiError> {
    let response = ok(sent).await?;
    response.json::<T>().await.map_err(|_| ApiError::Decode)
}

/// For answers whose body does not matter: none (204), or one the widget has no use for.
async fn read_empty(sent: Result<Response, gloo_net::Error>) -> Result<(), ApiError> {
    let response = ok(sent).await?;
    // Read anyway: until its body is read (or the response is garbage collected) the browser
    // counts the request as unfinished, so its loader stays alive and Resource Timing never
    // lists it. The answer already said it was stored; a body cut short changes nothing.
    let _ = response.binary().await;
    Ok(())
}

async fn ok(sent: Result<Response, gloo_net::Error>) -> Result<Response, ApiError> {
    let response = sent.map_err(|_| ApiError::Network)?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    // Readable only when the server lists it in Access-Control-Expose-Headers.
    let retry_after = response.headers().get("retry-after").and_then(|value| value.trim().parse().ok());
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError::Server { code: body.error, message: body.message, retry_after }),
        Err(_) => Err(ApiError::Status(status)),
    }
}
