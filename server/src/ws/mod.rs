//! The WebSocket endpoint: the handshake checks the page's Origin against the site, then a
//! [`session`] authenticates the first frame and delivers messages.

mod session;

use actix_web::{HttpRequest, HttpResponse, get, web};
use palisade_protocol::limits::WS_FRAME_MAX_BYTES;
use palisade_protocol::{ErrorBody, ErrorCode, SitePublicId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::AppState;
use crate::error::ApiError;
use crate::origins;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WsQuery {
    /// The site's public id; the page's Origin must be one the site allows.
    #[param(value_type = String, pattern = "^[a-z0-9-]{1,64}$")]
    site: SitePublicId,
}

/// Upgrades to a WebSocket. The first frame must be `auth {access_token}` within 5 seconds;
/// tokens never travel in the URL.
#[utoipa::path(
    tag = "realtime",
    // No bearer token: anyone may call it.
    security(()),
    params(WsQuery),
    responses(
        (status = 101, description = "switching to the WebSocket protocol (frames: see ClientFrame and ServerFrame)"),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "missing Origin, or one the site does not allow"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 429, body = ErrorBody, description = "too many handshakes, or sockets open, from this network"),
    )
)]
#[get("/ws")]
pub async fn connect(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<WsQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.connect_limiter.check(&req)?;
    let site = crate::routes::site_by_public_id(&state, &query.into_inner().site).await?;
    // Unlike REST calls, a WebSocket handshake carries no CORS protection at all, so the Origin
    // is required here: without this check any web page could open a socket as its visitor.
    if origins::of_request(&req).is_none() {
        return Err(ApiError::new(ErrorCode::OriginNotAllowed, "WebSocket handshakes must carry an Origin"));
    }
    origins::require_allowed(&req, &site)?;
    // Held for as long as the connection lasts. Without a peer address (a Unix socket, a test
    // request) there is nothing to count by.
    let slot = match crate::client_ip::of(&req) {
        Some(ip) => Some(state.socket_cap.take(ip).ok_or_else(|| {
            ApiError::rate_limited("too many connections open from your network; close some and try again", 5)
        })?),
        None => None,
    };
    let (response, socket, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::new(ErrorCode::MalformedRequest, format!("not a WebSocket handshake: {e}")))?;
    let stream =
        stream.max_frame_size(WS_FRAME_MAX_BYTES).aggregate_continuations().max_continuation_size(WS_FRAME_MAX_BYTES);
    let client = crate::audit::Client::of(&req);
    actix_web::rt::spawn(async move {
        session::run(state.into_inner(), site, client, socket, stream).await;
        drop(slot);
    });
    Ok(response)
}
