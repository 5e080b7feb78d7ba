//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// The server is up and its database answers.
#[utoipa::path(tag = "health", security(()), responses((status = 200, body = Health), (status = 503, body = palisade_protocol::ErrorBody)))]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.interact(|conn| palisade_store::sites::all_allowed_origins(conn).map(drop)).await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}
