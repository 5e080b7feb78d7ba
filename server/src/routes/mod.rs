//! HTTP routes, grouped by what they serve.

pub mod auth;
pub mod health;
pub mod rooms;
pub mod widget;

use palisade_protocol::ErrorCode;

use crate::error::ApiError;

/// Unknown paths and methods get the same typed error body as everything else.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::NotFound, "no such endpoint"))
}
