//! REST calls to the chat server. Requests are cross-origin from the host page. Only the four
//! calls that start, renew or end a session carry cookies (the server's HttpOnly refresh cookie,
//! which this code never reads); everything else is authenticated by the bearer token alone,
//! sent only in a header.

use gloo_net::http::{Request, RequestBuilder, Response};
use palisade_protocol::auth::{
    CSRF_HEADER, ChangePasswordRequest, LoginRequest, RegisterRequest, SessionList, SessionRequest, TokenResponse,
};
use palisade_protocol::limits::HISTORY_PAGE_DEFAULT;
use palisade_protocol::messages::HistoryPage;
use palisade_protocol::rooms::RoomList;
use palisade_protocol::{ErrorBody, ErrorCode, RoomId, SessionId};
use serde::de::DeserializeOwned;
use web_sys::{ReferrerPolicy, RequestCredentials};

use crate::config::Config;
use crate::error_text;
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
            Self::Status(status) => {
                format!("The chat server answered with an error ({status}). Please try again.")
            }
            Self::Network => "Cannot reach the chat server. Check your connection and try again.".to_owned(),
            Self::Decode => "The chat server sent an answer this widget does not understand.".to_owned(),
        }
    }
}

pub async fn register(
    config: &Config,
    email: String,
    password: String,
    display_name: String,
) -> Result<TokenResponse, ApiError> {
    let body = RegisterRequest { site: config.site().clone(), email, password, display_name };
    let request =
        with_cookie(Request::post(&config.api_url("/auth/register"))).json(&body).map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

pub async fn login(config: &Config, email: String, password: String) -> Result<TokenResponse, ApiError> {
    let body = LoginRequest { site: config.site().clone(), email, password };
    let request =
        with_cookie(Request::post(&config.api_url("/auth/login"))).json(&body).map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
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

/// For answers without a body (204).
async fn read_empty(sent: Result<Response, gloo_net::Error>) -> Result<(), ApiError> {
    ok(sent).await.map(drop)
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
