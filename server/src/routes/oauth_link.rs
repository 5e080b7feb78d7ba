//! Linking and unlinking providers on an existing account. Linking is an explicit act of the
//! signed-in person, after entering their password again, never a side effect of a matching
//! email; unlinking never leaves an account without a way to sign in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use palisade_auth::opaque_token;
use palisade_protocol::oauth::{OAuthIdentities, OAuthIdentity, OAuthLinkRequest, OAuthLinkTicket, OAuthUnlinkRequest};
use palisade_protocol::{ErrorBody, ErrorCode, Timestamp, UserId};
use palisade_store::{StoreError, oauth, sites};

use super::auth::reauthenticate;
use super::oauth::Failed;
use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::extract::Caller;

const LINK_TICKET_TTL_MS: i64 = 5 * 60 * 1000;

/// Asks to link a provider to the caller's account; the ticket opens the linking popup.
#[utoipa::path(
    tag = "auth",
    request_body = OAuthLinkRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OAuthLinkTicket, description = "open /auth/oauth/{provider}/start with link=<ticket>"),
        (status = 401, body = ErrorBody, description = "not signed in, or the password is wrong"),
        (status = 404, body = ErrorBody, description = "the site offers no such provider"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/oauth/link")]
pub async fn request_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<OAuthLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = super::rooms::caller_site(&state, &caller).await?;
    if state.oauth.get(&body.provider, &site.public_id).is_none() {
        return Err(ApiError::not_found("provider"));
    }
    let user = caller.0.sub;
    reauthenticate(&state, &req, &site, user, body.password, "authn_login_fail").await?;
    let ticket = opaque_token::generate();
    let intent = oauth::LinkIntent {
        site_id: site.id,
        user,
        provider: body.provider,
        expires_at: palisade_store::now_millis() + LINK_TICKET_TTL_MS,
    };
    let hash = ticket.hash;
    state.store.interact(move |conn| oauth::create_link_intent(conn, &hash, &intent)).await?;
    let expires_in = u64::try_from(LINK_TICKET_TTL_MS / 1000).unwrap_or(0);
    Ok(HttpResponse::Ok().json(OAuthLinkTicket { ticket: ticket.token, expires_in }))
}

/// The popup's start redeems a link ticket: it must be live, of this site and this provider.
pub(super) async fn redeem(
    state: &AppState,
    ticket: &str,
    site: &sites::Site,
    provider_id: &str,
) -> Result<UserId, Failed> {
    let invalid = || {
        Failed::new(
            StatusCode::BAD_REQUEST,
            "link_ticket_invalid",
            "This linking window has expired or was already used. Close it and try again from the chat.",
        )
    };
    let hash = opaque_token::hash(ticket).ok_or_else(invalid)?;
    let intent = state.store.interact(move |conn| oauth::take_link_intent(conn, &hash)).await?.ok_or_else(invalid)?;
    let live = palisade_store::now_millis() <= intent.expires_at;
    if !live || intent.site_id != site.id || intent.provider != provider_id {
        return Err(invalid());
    }
    Ok(intent.user)
}

/// Links the verified provider subject to `user`, unless another account signs in with it.
pub(super) async fn link(
    state: &AppState,
    site: &sites::Site,
    provider_id: &str,
    user: UserId,
    subject: &str,
    client: &Client,
) -> Result<(), Failed> {
    let (site_id, provider, subject) = (site.id, provider_id.to_owned(), subject.to_owned());
    let linked =
        state.store.interact(move |conn| oauth::link_identity(conn, &site_id, &user, &provider, &subject)).await?;
    match linked {
        oauth::Linked::TakenByAnother => Err(Failed::new(
            StatusCode::CONFLICT,
            "identity_in_use",
            "This account at the provider already signs in to another chat account here; nothing was changed.",
        )),
        oauth::Linked::AlreadyYours => Ok(()),
        oauth::Linked::Added => {
            state.audit.record(
                AuditEvent::new("user_updated", Outcome::Success)
                    .with_site(site.id)
                    .with_actor(user)
                    .with_client(client.clone())
                    .with_detail("change", "oauth_linked")
                    .with_detail("provider", provider_id),
            );
            Ok(())
        }
    }
}

/// The providers the caller's account signs in with.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = OAuthIdentities), (status = 401, body = ErrorBody))
)]
#[get("/auth/oauth/identities")]
pub async fn identities(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let site = super::rooms::caller_site(&state, &caller).await?;
    let user = caller.0.sub;
    let rows = state.store.interact(move |conn| oauth::identities_of(conn, &user)).await?;
    let identities = rows
        .into_iter()
        .map(|(provider, at)| OAuthIdentity {
            label: state.oauth.get(&provider, &site.public_id).map_or_else(|| provider.clone(), |e| e.label.clone()),
            provider,
            linked_at: Timestamp::from_millis(at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(OAuthIdentities { identities }))
}

/// Unlinks a provider from the caller's account, with the password again.
#[utoipa::path(
    tag = "auth",
    request_body = OAuthUnlinkRequest,
    security(("bearer" = [])),
    params(("provider" = String, Path, description = "the provider")),
    responses(
        (status = 204, description = "unlinked"),
        (status = 401, body = ErrorBody, description = "not signed in, or the password is wrong"),
        (status = 404, body = ErrorBody, description = "not linked"),
        (status = 409, body = ErrorBody, description = "it is the account's only way to sign in"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/oauth/{provider}/unlink")]
pub async fn unlink(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<OAuthUnlinkRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let provider = path.into_inner();
    let site = super::rooms::caller_site(&state, &caller).await?;
    let user = caller.0.sub;
    reauthenticate(&state, &req, &site, user, body.into_inner().password, "authn_login_fail").await?;
    let name = provider.clone();
    match state.store.interact(move |conn| oauth::unlink_identity(conn, &user, &name)).await {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::not_found("linked provider")),
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "this is the account's only way to sign in; it cannot be unlinked",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    state.audit.record(
        AuditEvent::new("user_updated", Outcome::Success)
            .with_site(site.id)
            .with_actor(user)
            .with_client(Client::of(&req))
            .with_detail("change", "oauth_unlinked")
            .with_detail("provider", provider),
    );
    Ok(HttpResponse::NoContent().finish())
}
