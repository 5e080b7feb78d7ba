//! The session lifecycle after sign-in: refresh (cookie), logout (cookie), and a person's own
//! list of signed-in devices (bearer).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use palisade_auth::opaque_token;
use palisade_protocol::auth::{SessionList, SessionRequest, SessionView, TokenResponse};
use palisade_protocol::{ErrorBody, ErrorCode, SessionId, Timestamp};
use palisade_store::sessions::{self, Rotation};

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::extract::EnrollingCaller;
use crate::{csrf, sessions as lifecycle};

/// 401 that also deletes the cookie, so a dead token is not presented again and again.
fn refused(site: &palisade_protocol::SitePublicId) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Unauthorized()
        .insert_header(lifecycle::clear_cookie(site)?)
        .json(ErrorBody::new(ErrorCode::Unauthenticated, "the session has ended; sign in again")))
}

/// Trades the site's refresh cookie for a new access token and a new refresh cookie.
///
/// Authenticated by the site's refresh cookie (`__Host-palisade_refresh_<site>`), not a bearer
/// token, from an Origin the site allows and with the `x-palisade-csrf: 1` header.
#[utoipa::path(
    tag = "auth",
    // The cookie's name depends on the site, which an OpenAPI security scheme cannot say; the
    // description does.
    security(()),
    request_body = SessionRequest,
    params(("x-palisade-csrf" = String, Header, description = "must be `1`")),
    responses(
        (status = 200, body = TokenResponse, description = "renewed; the refresh cookie is replaced"),
        (status = 401, body = ErrorBody, description = "no live session; the cookie is deleted"),
        (status = 403, body = ErrorBody, description = "origin not allowed, or the CSRF header is missing"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SessionRequest>,
) -> Result<HttpResponse, ApiError> {
    // No per-address limit here: the cookie is 256 random bits, so there is nothing to guess,
    // and every page view of a visitor refreshes once; a shared NAT would hit the limit.
    let site = super::site_by_public_id(&state, &body.site).await?;
    csrf::require(&state, &req, &site)?;
    let Some(presented) =
        lifecycle::presented_token(&req, &site.public_id).and_then(|token| opaque_token::hash(&token))
    else {
        return refused(&site.public_id);
    };
    let next = opaque_token::generate();
    let (next_hash, now) = (next.hash.clone(), palisade_store::now_millis());
    let lifetimes = lifecycle::lifetimes();
    let rotation =
        state.store.interact(move |conn| sessions::rotate(conn, &presented, &next_hash, now, lifetimes)).await?;
    match rotation {
        Rotation::Rotated(session) if session.site_id == site.id => {
            let issued = lifecycle::renewed(&state, &session, &site.public_id, &next.token)?;
            Ok(HttpResponse::Ok().insert_header(issued.cookie).json(issued.response))
        }
        Rotation::Reused(session) => {
            state.audit.record(
                AuditEvent::new("authn_token_reuse", Outcome::Failure)
                    .with_site(site.id)
                    .with_actor(session.user)
                    .with_client(Client::of(&req))
                    .with_detail("session", session.id.to_string()),
            );
            refused(&site.public_id)
        }
        Rotation::Rotated(_) | Rotation::Refused => refused(&site.public_id),
    }
}

/// Ends the session of the site's refresh cookie and deletes the cookie.
///
/// Authenticated by the site's refresh cookie (`__Host-palisade_refresh_<site>`), when there is
/// one, from an Origin the site allows and with the `x-palisade-csrf: 1` header.
#[utoipa::path(
    tag = "auth",
    // Without a cookie there is nothing to end and it answers 204 all the same (signing out is
    // idempotent), so no scheme is required.
    security(()),
    request_body = SessionRequest,
    params(("x-palisade-csrf" = String, Header, description = "must be `1`")),
    responses(
        (status = 204, description = "signed out (also when there was no session)"),
        (status = 403, body = ErrorBody, description = "origin not allowed, or the CSRF header is missing"),
        (status = 404, body = ErrorBody, description = "no such site"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<SessionRequest>,
) -> Result<HttpResponse, ApiError> {
    let site = super::site_by_public_id(&state, &body.site).await?;
    csrf::require(&state, &req, &site)?;
    lifecycle::end_presented(&state, &req, &site, "logout").await?;
    Ok(HttpResponse::NoContent().insert_header(lifecycle::clear_cookie(&site.public_id)?).finish())
}

/// The caller's live sessions.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody))
)]
#[get("/auth/sessions")]
pub async fn list(state: web::Data<AppState>, caller: EnrollingCaller) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let (user, now, idle) = (caller.0.sub, palisade_store::now_millis(), lifecycle::lifetimes().idle_ms);
    let live = state.store.interact(move |conn| sessions::list_live(conn, &user, now, idle)).await?;
    let sessions = live
        .into_iter()
        .map(|s| SessionView {
            current: s.id == caller.0.sid,
            id: s.id,
            device: s.device,
            network: s.ip,
            created_at: Timestamp(s.created_at),
            last_used_at: Timestamp(s.last_used_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(SessionList { sessions }))
}

/// Ends one of the caller's sessions (any device, including this one).
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    params(("id" = SessionId, Path)),
    responses(
        (status = 204, description = "ended; its access tokens and sockets stop working within seconds"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such live session of the caller"),
    )
)]
#[delete("/auth/sessions/{id}")]
pub async fn end(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: EnrollingCaller,
    id: web::Path<SessionId>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let (user, sid, now) = (caller.0.sub, id.into_inner(), palisade_store::now_millis());
    let ended = state.store.interact(move |conn| sessions::revoke(conn, &user, &sid, now, "ended_by_user")).await?;
    if !ended {
        return Err(ApiError::not_found("session"));
    }
    let site = super::rooms::caller_site(&state, &caller).await?;
    state.audit.record(
        AuditEvent::new("session_expired", Outcome::Success)
            .with_site(site.id)
            .with_actor(user)
            .with_client(Client::of(&req))
            .with_detail("session", sid.to_string())
            .with_detail("reason", "ended_by_user"),
    );
    Ok(HttpResponse::NoContent().finish())
}
