//! Registration, password sign-in and password change.

use actix_web::{HttpRequest, HttpResponse, post, web};
use palisade_auth::{Verified, password_policy, throttle};
use palisade_protocol::auth::{ChangePasswordRequest, LoginRequest, RegisterRequest, TokenResponse};
use palisade_protocol::limits::{self, EMAIL_MAX, LimitError, PASSWORD_MAX};
use palisade_protocol::{ErrorBody, ErrorCode, UserId};
use palisade_store::{StoreError, login_throttle, sites, users};

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::extract::Caller;
use crate::origins;
use crate::sessions::Issued;

async fn site_for(
    state: &AppState,
    req: &HttpRequest,
    public_id: &palisade_protocol::SitePublicId,
) -> Result<sites::Site, ApiError> {
    let site = super::site_by_public_id(state, public_id).await?;
    origins::require_allowed(req, &site.allowed_origins)?;
    Ok(site)
}

fn signed_in(status: actix_web::http::StatusCode, issued: Issued) -> HttpResponse {
    HttpResponse::build(status).insert_header(issued.cookie).json(issued.response)
}

fn weak(error: password_policy::WeakPassword) -> ApiError {
    ApiError::new(ErrorCode::WeakPassword, error.0)
}

/// Creates an account on a site and signs the new person in.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = TokenResponse, description = "signed in; sets the site's refresh cookie"),
        (status = 400, body = ErrorBody, description = "malformed body"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 409, body = ErrorBody, description = "account exists"),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "a value breaks a limit, or the password is guessable"),
        (status = 429, body = ErrorBody, description = "too many attempts from this network"),
        (status = 503, body = ErrorBody, description = "too many password hashes in progress"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = site_for(&state, &req, &body.site).await?;
    limits::check_email(&body.email)?;
    limits::check_password(&body.password)?;
    limits::check_display_name(&body.display_name)?;
    password_policy::check(&body.password, &[&body.email, &body.display_name, &site.name]).map_err(weak)?;
    let hash = state.passwords.hash(body.password).await?;
    let id = UserId(uuid::Uuid::new_v4());
    let email_index = state.sealer.email_index(&site.id, &body.email);
    let email = state.sealer.seal_email(&id, &site.id, &body.email).map_err(ApiError::internal)?;
    let (display_name, site_id) = (body.display_name, site.id);
    let created = state
        .store
        .interact(move |conn| {
            let new = users::NewUser {
                id,
                site_id,
                email_index: &email_index,
                email: &email,
                display_name: &display_name,
                password_hash: &hash,
            };
            users::create(conn, &new)
        })
        .await;
    let user = match created {
        Ok(user) => user,
        Err(StoreError::EmailTaken) => {
            return Err(ApiError::new(ErrorCode::AccountExists, "an account with this email already exists; sign in"));
        }
        Err(other) => return Err(other.into()),
    };
    let client = Client::of(&req);
    state.audit.record(
        AuditEvent::new("user_created", Outcome::Success)
            .with_site(site.id)
            .with_actor(user.id)
            .with_client(client.clone()),
    );
    let issued = crate::sessions::start(&state, user.id, &site.public_id, &client).await?;
    Ok(signed_in(actix_web::http::StatusCode::CREATED, issued))
}

/// Refuses the attempt if this email is in its back-off period.
async fn check_throttle(state: &AppState, site: &sites::Site, email_index: &str) -> Result<(), ApiError> {
    let (site_id, index) = (site.id, email_index.to_owned());
    let blocked = state.store.interact(move |conn| login_throttle::blocked_until(conn, &site_id, &index)).await?;
    let now = palisade_store::now_millis();
    match blocked {
        Some(until) if until > now => {
            let wait = u64::try_from(until - now).unwrap_or(0).div_ceil(1000);
            Err(ApiError::rate_limited(format!("too many failed attempts; try again in {wait} s"), wait))
        }
        _ => Ok(()),
    }
}

/// Counts a failed password for this email and audits it, escalating to `authn_login_lock`
/// once the back-off becomes noticeable.
async fn count_failure(
    state: &AppState,
    site: &sites::Site,
    email_index: &str,
    user: Option<UserId>,
    event: &'static str,
    client: &Client,
) -> Result<(), ApiError> {
    let (site_id, index) = (site.id, email_index.to_owned());
    let now = palisade_store::now_millis();
    let window_ms = i64::try_from(throttle::WINDOW.as_millis()).unwrap_or(i64::MAX);
    let (counts, until) = state
        .store
        .interact(move |conn| {
            login_throttle::record_failure(conn, &site_id, &index, now, window_ms, |c| {
                let failures = throttle::Failures {
                    consecutive: c.consecutive,
                    in_window: c.window_failures,
                    window_start_ms: c.window_start,
                };
                throttle::blocked_until(&failures, now)
            })
        })
        .await?;
    let with_actor = |mut event: AuditEvent| {
        if let Some(user) = user {
            event = event.with_actor(user);
        }
        event.with_site(site.id).with_client(client.clone())
    };
    let reason = if user.is_some() { "wrong_password" } else { "unknown_account" };
    state.audit.record(
        with_actor(AuditEvent::new(event, Outcome::Failure))
            .with_detail("reason", reason)
            .with_detail("consecutive", counts.consecutive),
    );
    if until - now >= LOCK_NOTICE_MS {
        state.audit.record(
            with_actor(AuditEvent::new("authn_login_lock", Outcome::Failure))
                .with_detail("seconds", (until - now).div_euclid(1000))
                .with_detail("consecutive", counts.consecutive)
                .with_detail("in_window", counts.window_failures),
        );
    }
    Ok(())
}

/// Back-offs from this long (the fifth failure in a row: 16 s) are audited as a lock.
const LOCK_NOTICE_MS: i64 = 15_000;

/// Signs in with email and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse, description = "signed in; sets the site's refresh cookie"),
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
    // The throttle is keyed by the email, not the account, so it answers the same either way.
    check_throttle(&state, &site, &email_index).await?;
    let index = email_index.clone();
    let credentials = state.store.interact(move |conn| users::find_credentials(conn, &site_id, &index)).await?;
    let client = Client::of(&req);
    let Some(credentials) = credentials else {
        state.passwords.verify_absent(body.password).await?;
        count_failure(&state, &site, &email_index, None, "authn_login_fail", &client).await?;
        return Err(invalid_credentials());
    };
    let user = credentials.user;
    match state.passwords.verify(body.password, credentials.password_hash).await? {
        Verified::No => {
            count_failure(&state, &site, &email_index, Some(user.id), "authn_login_fail", &client).await?;
            return Err(invalid_credentials());
        }
        Verified::Yes => {}
        Verified::YesRehashed(hash) => {
            let id = user.id;
            state.store.interact(move |conn| users::set_password_hash(conn, &id, &hash)).await?;
        }
    }
    state.store.interact(move |conn| login_throttle::record_success(conn, &site_id, &email_index)).await?;
    state.audit.record(
        AuditEvent::new("authn_login_success", Outcome::Success)
            .with_site(site.id)
            .with_actor(user.id)
            .with_client(client.clone()),
    );
    let issued = crate::sessions::start(&state, user.id, &site.public_id, &client).await?;
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
    if body.current_password.chars().count() > PASSWORD_MAX {
        return Err(LimitError::TooLong { field: "current_password", max: PASSWORD_MAX }.into());
    }
    limits::check_password(&body.new_password)?;
    let (site_id, user) = (site.id, caller.0.sub);
    let credentials = state
        .store
        .interact(move |conn| users::credentials_of(conn, &site_id, &user))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    check_throttle(&state, &site, &credentials.email_index).await?;
    let client = Client::of(&req);
    if let Verified::No = state.passwords.verify(body.current_password, credentials.password_hash).await? {
        count_failure(&state, &site, &credentials.email_index, Some(user), "authn_password_change_fail", &client)
            .await?;
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "the current password is wrong"));
    }
    let index = credentials.email_index.clone();
    state.store.interact(move |conn| login_throttle::record_success(conn, &site_id, &index)).await?;
    password_policy::check(&body.new_password, &[&credentials.user.display_name, &site.name]).map_err(weak)?;
    let hash = state.passwords.hash(body.new_password).await?;
    let (sid, now) = (caller.0.sid, palisade_store::now_millis());
    let ended = state.store.interact(move |conn| users::change_password(conn, &user, &hash, &sid, now)).await?;
    state.audit.record(
        AuditEvent::new("authn_password_change", Outcome::Success)
            .with_site(site.id)
            .with_actor(user)
            .with_client(client)
            .with_detail("other_sessions_ended", ended),
    );
    Ok(HttpResponse::NoContent().finish())
}
