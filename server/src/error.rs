//! API errors: an [`ErrorCode`] and a message, rendered as `{"error", "message"}` with the
//! status the code implies. Internal details go to the log, never to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use palisade_protocol::{ErrorBody, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds to send in `Retry-After` (for `RateLimited` and `ServerBusy`; default 1).
    pub retry_after: Option<u64>,
    /// The limit a `RateLimited` answer was over, for its `RateLimit` fields.
    pub policy: Option<crate::rate_limit::Policy>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after: None, policy: None }
    }

    /// Says how many seconds to wait (`Retry-After`).
    pub fn with_retry_after(self, seconds: u64) -> Self {
        Self { retry_after: Some(seconds.max(1)), ..self }
    }

    /// Names the limit a 429 was over.
    pub fn with_policy(self, policy: crate::rate_limit::Policy) -> Self {
        Self { policy: Some(policy), ..self }
    }

    /// 429 with the number of seconds after which trying again can succeed.
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self { retry_after: Some(retry_after_secs.max(1)), ..Self::new(ErrorCode::RateLimited, message) }
    }

    /// Logs `detail` (which may hold internals) and answers with a generic 500.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorCode::Internal, "something went wrong on our side")
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in first")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }
}

/// The HTTP status for each code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MalformedRequest | ErrorCode::UnexpectedFrame => StatusCode::BAD_REQUEST,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::ValidationFailed | ErrorCode::WeakPassword => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials | ErrorCode::InvalidMfaCode => {
            StatusCode::UNAUTHORIZED
        }
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::OriginNotAllowed | ErrorCode::Forbidden | ErrorCode::MfaEnrolmentRequired => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::AuthTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(self.code)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self.code {
            ErrorCode::Unauthenticated => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ErrorCode::ServerBusy | ErrorCode::RateLimited => {
                let wait = self.retry_after.unwrap_or(1);
                response.insert_header((header::RETRY_AFTER, wait.to_string()));
                // draft-ietf-httpapi-ratelimit-headers: which limit, its quota a minute, and that
                // none of it is left for `wait` seconds.
                if let Some(policy) = self.policy {
                    let (name, quota) = (policy.name, policy.per_minute);
                    response.insert_header(("RateLimit-Policy", format!("\"{name}\";q={quota};w=60")));
                    response.insert_header(("RateLimit", format!("\"{name}\";r=0;t={wait}")));
                }
            }
            _ => {}
        }
        response.json(ErrorBody::new(self.code, self.message.clone()))
    }
}

impl From<palisade_store::StoreError> for ApiError {
    fn from(error: palisade_store::StoreError) -> Self {
        match error {
            palisade_store::StoreError::NotFound => Self::not_found("resource"),
            palisade_store::StoreError::Conflict(message) => Self::new(ErrorCode::Conflict, message),
            palisade_store::StoreError::Pool(_) => {
                tracing::warn!(%error, "database pool exhausted");
                Self::new(ErrorCode::ServerBusy, "the server is busy; try again shortly")
            }
            other => Self::internal(other),
        }
    }
}

impl From<palisade_auth::PasswordError> for ApiError {
    fn from(error: palisade_auth::PasswordError) -> Self {
        match error {
            palisade_auth::PasswordError::Busy => {
                Self::new(ErrorCode::ServerBusy, "too many sign-ins at once; try again shortly")
            }
            other => Self::internal(other),
        }
    }
}

impl From<palisade_protocol::limits::LimitError> for ApiError {
    fn from(error: palisade_protocol::limits::LimitError) -> Self {
        Self::new(ErrorCode::ValidationFailed, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_internal_maps_to_a_server_error() {
        for code in ErrorCode::ALL {
            let status = status_of(code);
            match code {
                ErrorCode::Internal => assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR),
                ErrorCode::ServerBusy => assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE),
                _ => assert!(status.is_client_error(), "{code} -> {status}"),
            }
        }
    }
}
