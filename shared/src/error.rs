//! The one error vocabulary of the API, used in REST error bodies and WebSocket error frames.

use serde::{Deserialize, Serialize};

/// Why a request failed. Serialized in `snake_case`; names are stable, new ones may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The body or frame is not valid JSON of the expected shape (including unknown fields).
    MalformedRequest,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// Well-formed, but a value is out of bounds (see [`crate::limits`]).
    ValidationFailed,
    /// The body or frame is larger than the server accepts.
    PayloadTooLarge,
    /// No valid access token was presented.
    Unauthenticated,
    /// Email or password is wrong (deliberately not saying which).
    InvalidCredentials,
    /// The new password is too easy to guess; the message says why.
    WeakPassword,
    /// The second-factor code is wrong, already used, or the challenge has ended.
    InvalidMfaCode,
    /// The request conflicts with the current state (e.g. an authenticator is already on).
    Conflict,
    /// The person's role on this site requires a second factor: set one up first.
    MfaEnrolmentRequired,
    /// The request's `Origin` is not allowed for this site.
    OriginNotAllowed,
    /// Authenticated, but not allowed to do this.
    Forbidden,
    /// The site, room or resource does not exist (or is not visible to the caller).
    NotFound,
    /// The WebSocket did not authenticate in time.
    AuthTimeout,
    /// A WebSocket frame arrived that is not valid at this point of the conversation.
    UnexpectedFrame,
    /// Too many requests; retry later.
    RateLimited,
    /// The server is saturated; retry later.
    ServerBusy,
    /// The server fell over; nothing the caller can fix.
    Internal,
}

impl ErrorCode {
    /// The wire name, as it appears in `{"error": ...}`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MalformedRequest => "malformed_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed => "validation_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::WeakPassword => "weak_password",
            Self::InvalidMfaCode => "invalid_mfa_code",
            Self::Conflict => "conflict",
            Self::MfaEnrolmentRequired => "mfa_enrolment_required",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::AuthTimeout => "auth_timeout",
            Self::UnexpectedFrame => "unexpected_frame",
            Self::RateLimited => "rate_limited",
            Self::ServerBusy => "server_busy",
            Self::Internal => "internal",
        }
    }

    /// Every code, for exhaustive tests and documentation.
    pub const ALL: [Self; 18] = [
        Self::MalformedRequest,
        Self::UnsupportedMediaType,
        Self::ValidationFailed,
        Self::PayloadTooLarge,
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::WeakPassword,
        Self::InvalidMfaCode,
        Self::Conflict,
        Self::MfaEnrolmentRequired,
        Self::OriginNotAllowed,
        Self::Forbidden,
        Self::NotFound,
        Self::AuthTimeout,
        Self::UnexpectedFrame,
        Self::RateLimited,
        Self::ServerBusy,
        Self::Internal,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every REST error response: `{"error": "<code>", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorCode,
    /// A human-readable explanation; never contains secrets or internals.
    pub message: String,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self { error, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }
}
