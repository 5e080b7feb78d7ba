//! Request extraction: the bearer caller, and typed errors for bodies, queries and paths that
//! do not parse (instead of actix's plain-text defaults).

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use palisade_auth::AccessClaims;
use palisade_protocol::ErrorCode;
use palisade_protocol::limits::REST_BODY_MAX_BYTES;

use crate::app::AppState;
use crate::error::ApiError;

/// Who is calling, proven by a valid `Authorization: Bearer` access token of a live session
/// that owes nothing: a session whose role requires a second factor not yet set up is refused
/// with `mfa_enrolment_required`.
#[derive(Debug, Clone)]
pub struct Caller(pub AccessClaims);

/// Like [`Caller`], but also admits a session that still has to set up its second factor: for
/// the few routes it needs to do so (and to see and end its sessions).
#[derive(Debug, Clone)]
pub struct EnrollingCaller(pub Caller);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (caller, mfa_pending) = caller(&req).await?;
            if mfa_pending {
                return Err(ApiError::new(
                    ErrorCode::MfaEnrolmentRequired,
                    "your role on this site requires two-factor authentication; set it up first",
                ));
            }
            Ok(caller)
        })
    }
}

impl FromRequest for EnrollingCaller {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Self(caller(&req).await?.0)) })
    }
}

/// A valid token is not enough: its session must still be live, so that logout, a password
/// change or ending a session from another device takes effect at once, not when the token
/// expires. That is one primary-key lookup per request.
async fn caller(req: &HttpRequest) -> Result<(Caller, bool), ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::internal("state missing"))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthenticated)?;
    let claims = state.tokens.verify(token).map_err(|_| {
        tracing::info!(event = "authn_token_invalid", "request with an invalid or expired access token");
        ApiError::unauthenticated()
    })?;
    // Before the session lookup, so that a flood costs no database work.
    state
        .api_limiter
        .check_key(&claims.sub)
        .map_err(|refused| refused.error("too many requests from your account; wait and try again"))?;
    if let Some(session) = crate::sessions::live(state, &claims).await? {
        Ok((Caller(claims), session.mfa_pending))
    } else {
        tracing::info!(event = "session_use_after_expire", user = %claims.sub, "access token of an ended session");
        Err(ApiError::unauthenticated())
    }
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(REST_BODY_MAX_BYTES).error_handler(|error, _req| {
        let api = match &error {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body must be at most {REST_BODY_MAX_BYTES} bytes"),
            ),
            JsonPayloadError::ContentType => {
                ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as application/json")
            }
            JsonPayloadError::Deserialize(e) => ApiError::new(ErrorCode::MalformedRequest, describe_json_error(e)),
            _ => ApiError::new(ErrorCode::MalformedRequest, "the body could not be read"),
        };
        api.into()
    })
}

// serde's message names the offending field or position; it never echoes the input values.
fn describe_json_error(error: &serde_json::Error) -> String {
    format!("the body is not valid: {error}")
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req| {
        ApiError::new(ErrorCode::MalformedRequest, format!("the query string is not valid: {error}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_error: PathError, _req| ApiError::not_found("resource").into())
}
