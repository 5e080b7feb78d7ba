//! REST calls to the chat server. Requests are cross-origin from the host page and carry no
//! cookies: the bearer token is the only credential, and it is sent only in a header.

use gloo_net::http::{Request, RequestBuilder, Response};
use palisade_protocol::auth::{LoginRequest, RegisterRequest, TokenResponse};
use palisade_protocol::limits::HISTORY_PAGE_DEFAULT;
use palisade_protocol::messages::HistoryPage;
use palisade_protocol::rooms::RoomList;
use palisade_protocol::{ErrorBody, ErrorCode, RoomId};
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
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
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
    let request = base(Request::post(&config.api_url("/auth/register"))).json(&body).map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

pub async fn login(config: &Config, email: String, password: String) -> Result<TokenResponse, ApiError> {
    let body = LoginRequest { site: config.site().clone(), email, password };
    let request = base(Request::post(&config.api_url("/auth/login"))).json(&body).map_err(|_| ApiError::Decode)?;
    read(request.send().await).await
}

pub async fn rooms(config: &Config, token: &AccessToken) -> Result<RoomList, ApiError> {
    let request = base(Request::get(&config.api_url("/rooms"))).header("Authorization", &token.authorization());
    read(request.send().await).await
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
    let request = base(Request::get(&config.api_url(&path))).header("Authorization", &token.authorization());
    read(request.send().await).await
}

/// No cookies travel with any request, and the host page's URL is not leaked as a Referer.
fn base(builder: RequestBuilder) -> RequestBuilder {
    builder
        .credentials(RequestCredentials::Omit)
        .referrer_policy(ReferrerPolicy::NoReferrer)
        .header("Accept", "application/json")
}

async fn read<T: DeserializeOwned>(sent: Result<Response, gloo_net::Error>) -> Result<T, ApiError> {
    let response = sent.map_err(|_| ApiError::Network)?;
    if response.ok() {
        return response.json::<T>().await.map_err(|_| ApiError::Decode);
    }
    let status = response.status();
    // Readable only when the server lists it in Access-Control-Expose-Headers.
    let retry_after = response.headers().get("retry-after").and_then(|value| value.trim().parse().ok());
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError::Server { code: body.error, message: body.message, retry_after }),
        Err(_) => Err(ApiError::Status(status)),
    }
}
