//! Who is online on the caller's site.

use actix_web::{HttpResponse, get, web};
use palisade_protocol::ErrorBody;
use palisade_protocol::presence::OnlineList;

use super::rooms::caller_site;
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::Caller;

/// The people of the caller's site with a WebSocket open now (on this server instance).
#[utoipa::path(
    tag = "realtime",
    security(("bearer" = [])),
    responses((status = 200, body = OnlineList), (status = 401, body = ErrorBody))
)]
#[get("/presence")]
pub async fn online(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let site = caller_site(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(OnlineList { online: state.presence.online(site.id) }))
}
