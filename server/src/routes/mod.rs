//! HTTP routes, grouped by what they serve.

pub mod auth;
pub mod csp_report;
pub mod health;
pub mod messages;
pub mod mfa;
pub mod oauth;
pub mod oauth_link;
pub mod password_reset;
pub mod presence;
pub mod room_members;
pub mod rooms;
pub mod sessions;
pub mod sign_up;
pub mod site_admin;
pub mod sites;
pub mod widget;

use palisade_protocol::{ErrorCode, SitePublicId};
use palisade_store::sites::Site;

use crate::app::AppState;
use crate::error::ApiError;

/// The site with this public id, or a 404.
pub async fn site_by_public_id(state: &AppState, public_id: &SitePublicId) -> Result<Site, ApiError> {
    let wanted = public_id.clone();
    state
        .store
        .interact(move |conn| palisade_store::sites::find_by_public_id(conn, &wanted))
        .await?
        .ok_or_else(|| ApiError::not_found("site"))
}

/// The page size a listing asked for (`default` when it did not), or an error naming the range.
pub fn page_size(asked: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = asked.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::new(ErrorCode::ValidationFailed, format!("limit must be 1 to {max}")))
    }
}

/// Unknown paths get the same typed error body as everything else; a known path asked with a
/// method it does not have gets 405 with `Allow` (RFC 9110), as the document it serves says.
pub async fn not_found(
    req: actix_web::HttpRequest,
    document: Option<actix_web::web::Data<crate::openapi::Document>>,
) -> Result<actix_web::HttpResponse, ApiError> {
    static ROUTES: std::sync::OnceLock<crate::openapi::Routes> = std::sync::OnceLock::new();
    // Every server in this process serves the same routes, so the first document will do.
    let allowed = document.map(|doc| ROUTES.get_or_init(|| crate::openapi::Routes::of(&doc.0)).allowed(req.path()));
    match allowed {
        Some(allowed) if !allowed.is_empty() => Ok(actix_web::HttpResponse::MethodNotAllowed()
            .insert_header((actix_web::http::header::ALLOW, allowed.join(", ")))
            // The protocol has no code of its own for this; the status and Allow say it.
            .json(palisade_protocol::ErrorBody::new(
                ErrorCode::NotFound,
                format!("no such method here; this endpoint takes {}", allowed.join(", ")),
            ))),
        _ => Err(ApiError::new(ErrorCode::NotFound, "no such endpoint")),
    }
}
