//! Forgotten passwords: a single-use link by email, valid 30 minutes. Asking reveals nothing
//! about which emails have accounts, and resetting never signs anyone in, so a second factor
//! still stands between a mailbox thief and the account.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, post, web};
use palisade_auth::{opaque_token, password_policy};
use palisade_protocol::auth::{ForgotPasswordRequest, RESET_FRAGMENT, ResetPasswordRequest};
use palisade_protocol::limits::{self, EMAIL_MAX, LimitError};
use palisade_protocol::{ErrorBody, ErrorCode};
use palisade_store::{password_resets, users};

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::mail_links;

pub(crate) const LINK_TTL: Duration = Duration::from_secs(30 * 60);

/// Makes a reset link for `user` that opens `page`; the caller mails it.
pub(crate) fn create_link(
    conn: &mut palisade_store::DbConnection,
    user: &palisade_protocol::UserId,
    page: &str,
) -> Result<String, palisade_store::StoreError> {
    let token = opaque_token::generate();
    let expires_at = palisade_store::now_millis() + i64::try_from(LINK_TTL.as_millis()).unwrap_or(i64::MAX);
    password_resets::create(conn, &token.hash, user, expires_at)?;
    Ok(mail_links::link(page, RESET_FRAGMENT, &token.token))
}

/// Mails a reset link when the email has an account on the site.
#[utoipa::path(
    tag = "auth",
    // No bearer token: anyone may call it.
    security(()),
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "if the email has an account, a link is on its way (the same answer either way)"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 422, body = ErrorBody, description = "return_to is not on an allowed origin, or the email is too long"),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "this server sends no mail"),
    )
)]
#[post("/auth/password/forgot")]
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ForgotPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = super::site_by_public_id(&state, &body.site).await?;
    crate::origins::require_allowed(&req, &site)?;
    if body.email.chars().count() > EMAIL_MAX {
        return Err(LimitError::TooLong { field: "email", max: EMAIL_MAX }.into());
    }
    let request = mail_links::accept(&state, &req, site, body.email, &body.return_to, "password reset")?;
    Ok(mail_links::answer_then(state, request, send_link))
}

async fn send_link(state: std::sync::Arc<AppState>, request: mail_links::LinkRequest) -> Result<(), ApiError> {
    let mail_links::LinkRequest { site, typed_email, page, client } = request;
    let (site_id, index) = (site.id, state.sealer.email_index(&site.id, &typed_email));
    let may_mail = mail_links::may_mail(&state, &site, &index).await?;
    let found = state
        .store
        .interact(move |conn| {
            let Some(credentials) = users::find_credentials(conn, &site_id, &index)? else { return Ok(None) };
            if !may_mail {
                return Ok(Some((credentials.user.id, None)));
            }
            Ok(Some((credentials.user.id, Some(create_link(conn, &credentials.user.id, &page)?))))
        })
        .await?;
    let mut event = AuditEvent::new("authn_password_reset_requested", Outcome::Success)
        .with_site(site.id)
        .with_client(client)
        .with_detail("account_found", found.is_some())
        .with_detail("mailed", found.as_ref().is_some_and(|(_, link)| link.is_some()));
    if let Some((user, link)) = found {
        event = event.with_actor(user);
        if let Some(link) = link {
            let to = palisade_vault::normalize_email(&typed_email);
            let text = format!(
                "Someone asked to reset the password of your {site_name} chat account.\n\n\
                 To choose a new password, open this link within 30 minutes:\n\n{link}\n\n\
                 If it was not you, ignore this message; your password stays as it is.\n",
                site_name = site.name
            );
            state.mailer.send_later(&to, &format!("Reset your {} chat password", site.name), text);
        }
    }
    state.audit.record(event);
    Ok(())
}

/// Sets a new password with the token from a reset link; every session of the account ends.
#[utoipa::path(
    tag = "auth",
    // No bearer token: anyone may call it.
    security(()),
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "changed; sign in with the new password (and second factor)"),
        (status = 401, body = ErrorBody, description = "the link is expired, used, or not a link at all"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 422, body = ErrorBody, description = "the new password breaks a limit or is guessable"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/password/reset")]
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = super::site_by_public_id(&state, &body.site).await?;
    crate::origins::require_allowed(&req, &site)?;
    let dead =
        || ApiError::new(ErrorCode::Unauthenticated, "this reset link has expired or was used; ask for a new one");
    let token = opaque_token::hash(&body.token).ok_or_else(dead)?;
    limits::check_password(&body.new_password)?;
    password_policy::check(&body.new_password, &[&site.name])
        .map_err(|weak| ApiError::new(ErrorCode::WeakPassword, weak.0))?;
    let hash = state.passwords.hash(body.new_password).await?;
    let now = palisade_store::now_millis();
    let user = state.store.interact(move |conn| password_resets::redeem(conn, &token, &hash, now)).await?;
    let user = user.ok_or_else(dead)?;
    state.audit.record(
        AuditEvent::new("authn_password_change", Outcome::Success)
            .with_site(site.id)
            .with_actor(user)
            .with_client(Client::of(&req))
            .with_detail("via", "reset_link"),
    );
    Ok(HttpResponse::NoContent().finish())
}
