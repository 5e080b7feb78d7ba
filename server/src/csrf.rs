//! Cross-site request forgery defence for the endpoints a cookie authenticates (refresh and
//! logout). Such a request must come from a page whose origin the site allows, and carry the
//! custom header, which a browser only lets a page send cross-origin after our CORS preflight
//! approved that origin. A form, link or image on another page can do neither.
//!
//! `Sec-Fetch-Site: cross-site` is not refused, as generic advice would have it: the widget
//! always runs on the site owner's page, a different site from the chat server, so every real
//! request is cross-site. The origin allowlist is what distinguishes friend from foe.

use actix_web::HttpRequest;
use palisade_protocol::ErrorCode;
use palisade_protocol::auth::CSRF_HEADER;

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::origins;
use crate::refusal_watch::Refusal;

/// Lets the request through only from an allowed origin with the custom header.
pub fn require(state: &AppState, req: &HttpRequest, site: &palisade_store::sites::Site) -> Result<(), ApiError> {
    let origin = origins::of_request(req);
    let origin_ok = origin.is_some_and(|o| site.allowed_origins.iter().any(|a| a == o));
    let header_ok = req.headers().get(CSRF_HEADER).is_some_and(|v| v.as_bytes() == b"1");
    if origin_ok && header_ok {
        return Ok(());
    }
    let client = Client::of(req);
    state.refusals.refused(
        Refusal::Csrf,
        crate::client_ip::of(req),
        client.clone(),
        Some(site.id),
        origin.unwrap_or(""),
    );
    state.audit.record(
        AuditEvent::new("malicious_csrf", Outcome::Failure)
            .with_site(site.id)
            .with_client(client)
            .with_detail("origin", origin.unwrap_or("(none)").chars().take(200).collect::<String>())
            .with_detail("csrf_header", header_ok),
    );
    if origin_ok {
        Err(ApiError::new(ErrorCode::Forbidden, format!("this request needs the {CSRF_HEADER} header")))
    } else {
        Err(ApiError::new(ErrorCode::OriginNotAllowed, "this page's origin may not use this site"))
    }
}
