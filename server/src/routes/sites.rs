//! What the widget learns about its site before anyone signs in.

use actix_web::{HttpRequest, HttpResponse, get, web};
use palisade_protocol::sites::SiteInfo;
use palisade_protocol::{ErrorBody, SitePublicId};

use super::auth::site_for;
use crate::app::AppState;
use crate::error::ApiError;

/// The site's name and whether it takes sign-ups, so the widget offers only what works.
#[utoipa::path(
    tag = "sites",
    // No bearer token: anyone may call it.
    security(()),
    params(("public_id" = SitePublicId, Path, description = "the site, as the embed snippet's data-site names it")),
    responses(
        (status = 200, body = SiteInfo),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 429, body = ErrorBody, description = "too many requests from this network"),
    )
)]
#[get("/sites/{public_id}")]
pub async fn info(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<SitePublicId>,
) -> Result<HttpResponse, ApiError> {
    state.lookup_limiter.check(&req)?;
    let site = site_for(&state, &req, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SiteInfo { name: site.name, sign_up: site.sign_up }))
}
