//! Password sign-in and password change.

use actix_web::{HttpRequest, HttpResponse, post, web};
use palisade_auth::{Verified, password_policy};
use palisade_protocol::auth::{ChangePasswordRequest, LoginRequest, TokenResponse};
use palisade_protocol::limits::{self, EMAIL_MAX, LimitError, PASSWORD_MAX};
use palisade_protocol::{ErrorBody, ErrorCode, UserId};
use palisade_store::{mfa, sites, users};

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::extract::Caller;
use crate::sessions::Issued;
use crate::{origins, sign_in_throttle};

pub(crate) async fn site_for(
    state: &AppState,
    req: &HttpRequest,
    public_id: &palisade_protocol::SitePublicId,
) -> Result<sites::Site, ApiError> {
    let site = super::site_by_public_id(state, public_id).await?;
    origins::require_allowed(req, &site)?;
    Ok(site)
}

pub(crate) fn signed_in(status: actix_web::http::StatusCode, issued: Issued) -> HttpResponse {
    HttpResponse::build(status).insert_header(issued.cookie).json(issued.response)
}

pub(crate) fn weak(error: password_policy::WeakPassword) -> ApiError {
    ApiError::new(ErrorCode::WeakPassword, error.0)
}

/// Signs in with email and password.
#[utoipa::path(
    tag = "auth",
    // No bearer token: anyone may call it.
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse, description = "signed in; sets the site's refresh cookie"),
        (status = 202, body = palisade_protocol::mfa::MfaChallenge, description = "password right; complete with POST /auth/mfa/verify"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody, description = "wrong email or password (indistinguishable)"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "back-off after failures, or too many attempts from this network"),
        (status = 503, body = ErrorBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = site_for(&state, &req, &body.site).await?;
    // Bounded before hashing so nobody can make us hash megabytes; the bounds are public.
    if body.password.chars().count() > PASSWORD_MAX {
        return Err(LimitError::TooLong { field: "password", max: PASSWORD_MAX }.into());
    }
    if body.email.chars().count() > EMAIL_MAX {
        return Err(LimitError::TooLong { field: "email", max: EMAIL_MAX }.into());
    }
    let (email_index, site_id) = (state.sealer.email_index(&site.id, &body.email), site.id);
    let client = Client::of(&req);
    // The throttle is keyed by the email, not the account, so it answers the same either way.
    sign_in_throttle::check(&state, &site, &email_index, &client).await?;
    let index = email_index.clone();
    let credentials = state.store.interact(move |conn| users::find_credentials(conn, &site_id, &index)).await?;
    let Some(credentials) = credentials else {
        state.passwords.verify_absent(body.password).await?;
        sign_in_throttle::count_failure(&state, &site, &email_index, None, "authn_login_fail", &client).await?;
        return Err(invalid_credentials());
    };
    let (user, disabled) = (credentials.user, credentials.disabled);
    match state.passwords.verify(body.password, credentials.password_hash).await? {
        Verified::No => {
            sign_in_throttle::count_failure(&state, &site, &email_index, Some(user.id), "authn_login_fail", &client)
                .await?;
            return Err(invalid_credentials());
        }
        Verified::Yes => {}
        Verified::YesRehashed(hash) => {
            let id = user.id;
            state.store.interact(move |conn| users::set_password_hash(conn, &id, &hash)).await?;
        }
    }
    if disabled {
        state.audit.record(
            AuditEvent::new("authn_login_fail", Outcome::Failure)
                .with_site(site.id)
                .with_actor(user.id)
                .with_client(client)
                .with_detail("reason", "account_disabled"),
        );
        return Err(ApiError::new(ErrorCode::Forbidden, "this account is disabled; contact the site's staff"));
    }
    let user_id = user.id;
    if state.store.interact(move |conn| mfa::is_enabled(conn, &user_id)).await? {
        // The password is not enough: the session starts only once the second factor is in.
        let challenge = super::mfa::challenge(&state, user.id).await?;
        return Ok(HttpResponse::Accepted().json(challenge));
    }
    finish_sign_in(&state, &req, &site, user.id, &email_index, &client, "password").await
}

/// Ends a successful sign-in: resets the back-off, audits, ends the session this browser held
/// before (if any), starts the new one.
pub(crate) async fn finish_sign_in(
    state: &AppState,
    req: &HttpRequest,
    site: &sites::Site,
    user: UserId,
    email_index: &str,
    client: &Client,
    method: &'static str,
) -> Result<HttpResponse, ApiError> {
    sign_in_throttle::record_success(state, site, email_index, client).await?;
    state.audit.record(
        AuditEvent::new("authn_login_success", Outcome::Success)
            .with_site(site.id)
            .with_actor(user)
            .with_client(client.clone())
            .with_detail("method", method),
    );
    crate::sessions::end_presented(state, req, site, "replaced_by_sign_in").await?;
    let issued = crate::sessions::start(state, user, site, client).await?;
    Ok(signed_in(actix_web::http::StatusCode::OK, issued))
}

fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, "wrong email or password")
}

/// Changes the caller's password. Needs the current one; ends every other session.
#[utoipa::path(
    tag = "auth",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "changed; every other session has ended"),
        (status = 401, body = ErrorBody, description = "not signed in, or the current password is wrong"),
        (status = 422, body = ErrorBody, description = "the new password breaks a limit or is guessable"),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = super::rooms::caller_site(&state, &caller).await?;
    limits::check_password(&body.new_password)?;
    let user = caller.0.sub;
    let credentials =
        reauthenticate(&state, &req, &site, user, body.current_password, "authn_password_change_fail").await?;
    password_policy::check(&body.new_password, &[&credentials.user.display_name, &site.name]).map_err(weak)?;
    let hash = state.passwords.hash(body.new_password).await?;
    let (sid, now) = (caller.0.sid, palisade_store::now_millis());
    let ended = state.store.interact(move |conn| users::change_password(conn, &user, &hash, &sid, now)).await?;
    state.audit.record(
        AuditEvent::new("authn_password_change", Outcome::Success)
            .with_site(site.id)
            .with_actor(user)
            .with_client(Client::of(&req))
            .with_detail("other_sessions_ended", ended),
    );
    Ok(HttpResponse::NoContent().finish())
}

/// Asks for the password again before a sensitive change (password, second factor): a stolen
/// access token alone must not be enough. Failures count towards the sign-in back-off.
pub(crate) async fn reauthenticate(
    state: &AppState,
    req: &HttpRequest,
    site: &sites::Site,
    user: UserId,
    password: String,
    failure_event: &'static str,
) -> Result<users::Credentials, ApiError> {
    if password.chars().count() > PASSWORD_MAX {
        return Err(LimitError::TooLong { field: "password", max: PASSWORD_MAX }.into());
    }
    let site_id = site.id;
    let credentials = state
        .store
        .interact(move |conn| users::credentials_of(conn, &site_id, &user))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    let client = Client::of(req);
    sign_in_throttle::check(state, site, &credentials.email_index, &client).await?;
    if let Verified::No = state.passwords.verify(password, credentials.password_hash.clone()).await? {
        sign_in_throttle::count_failure(state, site, &credentials.email_index, Some(user), failure_event, &client)
            .await?;
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "the password is wrong"));
    }
    sign_in_throttle::record_success(state, site, &credentials.email_index, &client).await?;
    Ok(credentials)
}
