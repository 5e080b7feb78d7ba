//! The second factor: enrolling an authenticator app, completing a sign-in with a code,
//! recovery codes, and turning it off.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use palisade_auth::totp::{self, TotpSecret};
use palisade_auth::{opaque_token, recovery_codes};
use palisade_protocol::auth::TokenResponse;
use palisade_protocol::mfa::{
    MfaChallenge, MfaStatus, MfaVerifyRequest, ReauthRequest, RecoveryCodes, TotpConfirmRequest, TotpEnrollment,
};
use palisade_protocol::{ErrorBody, ErrorCode, UserId};
use palisade_store::{mfa, sessions, sites, users};

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::extract::{Caller, EnrollingCaller};
use crate::sign_in_throttle;

const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// Codes tried on one ticket before it dies; the per-email back-off applies as well.
const CHALLENGE_ATTEMPTS: i32 = 5;

fn now_secs() -> u64 {
    u64::try_from(palisade_store::now_millis() / 1000).unwrap_or(0)
}

/// A ticket for a sign-in whose password was right and whose second factor is still owed.
pub async fn challenge(state: &AppState, user: UserId) -> Result<MfaChallenge, ApiError> {
    let ticket = opaque_token::generate();
    let expires_at = palisade_store::now_millis() + i64::try_from(CHALLENGE_TTL.as_millis()).unwrap_or(i64::MAX);
    let hash = ticket.hash.clone();
    state.store.interact(move |conn| mfa::create_challenge(conn, &hash, &user, expires_at)).await?;
    Ok(MfaChallenge { ticket: ticket.token, expires_in: CHALLENGE_TTL.as_secs() })
}

fn wrong_code() -> ApiError {
    ApiError::new(ErrorCode::InvalidMfaCode, "that code is not right; check your authenticator app and try again")
}

/// Checks a 6-digit authenticator code (once per time step) or a recovery code (once ever).
/// Returns which kind worked.
async fn check_code(state: &AppState, user: UserId, code: &str) -> Result<Option<&'static str>, ApiError> {
    let digits = code.trim();
    if digits.len() == totp::DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()) {
        let Some(stored) = state.store.interact(move |conn| mfa::totp_of(conn, &user)).await? else { return Ok(None) };
        if !stored.enabled {
            return Ok(None);
        }
        let secret = state.sealer.open_totp_secret(&user, &stored.secret).ok_or_else(|| {
            ApiError::internal(format!("the TOTP secret of {user} does not open; see crypt_decrypt_fail"))
        })?;
        let Some(step) = secret.matching_step(digits, now_secs()) else { return Ok(None) };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        // A code seen before (or one for an older step than the last accepted) is a replay.
        let fresh = state.store.interact(move |conn| mfa::claim_step(conn, &user, step)).await?;
        return Ok(fresh.then_some("totp"));
    }
    let Some(hash) = recovery_codes::hash(code) else { return Ok(None) };
    let spent = state.store.interact(move |conn| mfa::use_recovery_code(conn, &user, &hash)).await?;
    Ok(spent.then_some("recovery_code"))
}

/// Completes a sign-in with the ticket from `login` and a code.
#[utoipa::path(
    tag = "auth",
    // No bearer token: anyone may call it.
    security(()),
    request_body = MfaVerifyRequest,
    responses(
        (status = 200, body = TokenResponse, description = "signed in; sets the site's refresh cookie"),
        (status = 401, body = ErrorBody, description = "`invalid_mfa_code`: wrong or reused code; `unauthenticated`: the ticket is spent or expired, sign in again"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/mfa/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<MfaVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = super::site_by_public_id(&state, &body.site).await?;
    crate::origins::require_allowed(&req, &site)?;
    let ended = || ApiError::new(ErrorCode::Unauthenticated, "this sign-in has expired; enter your password again");
    let Some(ticket) = opaque_token::hash(&body.ticket) else { return Err(ended()) };
    let now = palisade_store::now_millis();
    let (hash, site_id) = (ticket.clone(), site.id);
    let owner = state
        .store
        .interact(move |conn| {
            let Some(user) = mfa::attempt_challenge(conn, &hash, now, CHALLENGE_ATTEMPTS)? else { return Ok(None) };
            users::credentials_of(conn, &site_id, &user)
        })
        .await?;
    let Some(credentials) = owner.filter(|c| !c.disabled) else { return Err(ended()) };
    let user = credentials.user.id;
    let client = Client::of(&req);
    sign_in_throttle::check(&state, &site, &credentials.email_index, &client).await?;
    let Some(method) = check_code(&state, user, &body.code).await? else {
        sign_in_throttle::count_failure(&state, &site, &credentials.email_index, Some(user), "authn_mfa_fail", &client)
            .await?;
        return Err(wrong_code());
    };
    if !state.store.interact(move |conn| mfa::consume_challenge(conn, &ticket)).await? {
        return Err(ended());
    }
    super::auth::finish_sign_in(&state, &req, &site, user, &credentials.email_index, &client, method).await
}

/// Whether the caller has an authenticator, and how many recovery codes are left.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 200, body = MfaStatus), (status = 401, body = ErrorBody)))]
#[get("/auth/mfa")]
pub async fn status(state: web::Data<AppState>, caller: EnrollingCaller) -> Result<HttpResponse, ApiError> {
    let user = caller.0.0.sub;
    let status = state
        .store
        .interact(move |conn| {
            Ok(MfaStatus {
                totp_enabled: mfa::is_enabled(conn, &user)?,
                recovery_codes_left: mfa::recovery_codes_left(conn, &user)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Starts enrolling an authenticator: a new secret, shown as a QR code and as text. It does
/// nothing until confirmed with a code from the app.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = TotpEnrollment),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "an authenticator is already enabled; disable it first"),
    )
)]
#[post("/auth/mfa/totp")]
pub async fn enroll(state: web::Data<AppState>, caller: EnrollingCaller) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let site = super::rooms::caller_site(&state, &caller).await?;
    let user = caller.0.sub;
    let site_id = site.id;
    let person = state
        .store
        .interact(move |conn| users::find(conn, &site_id, &user))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    let secret = TotpSecret::generate();
    let sealed = state.sealer.seal_totp_secret(&user, &secret).map_err(ApiError::internal)?;
    state.store.interact(move |conn| mfa::put_pending_totp(conn, &user, &sealed)).await?;
    let otpauth_uri = secret.otpauth_uri(&site.name, &person.display_name);
    let qr = totp::qr_rows(&otpauth_uri)
        .ok_or_else(|| ApiError::internal("the otpauth URI does not fit a QR code"))?
        .into_iter()
        .map(|row| row.into_iter().map(|dark| if dark { '1' } else { '0' }).collect())
        .collect();
    Ok(HttpResponse::Ok().json(TotpEnrollment { secret: secret.base32(), otpauth_uri, qr }))
}

async fn other_sessions_end(state: &AppState, caller: &Caller, reason: &'static str) -> Result<usize, ApiError> {
    let (user, sid, now) = (caller.0.sub, caller.0.sid, palisade_store::now_millis());
    Ok(state.store.interact(move |conn| sessions::revoke_all(conn, &user, Some(&sid), now, reason)).await?)
}

fn audit(state: &AppState, req: &HttpRequest, site: &sites::Site, user: UserId, event: &'static str, ended: usize) {
    state.audit.record(
        AuditEvent::new(event, Outcome::Success)
            .with_site(site.id)
            .with_actor(user)
            .with_client(Client::of(req))
            .with_detail("other_sessions_ended", ended),
    );
}

/// Turns the pending authenticator on with a first code from it, and returns the recovery
/// codes (shown this once). Every other session ends.
#[utoipa::path(
    tag = "auth",
    request_body = TotpConfirmRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 401, body = ErrorBody, description = "`invalid_mfa_code`: the code does not match"),
        (status = 409, body = ErrorBody, description = "nothing to confirm: enrol first"),
    )
)]
#[post("/auth/mfa/totp/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: EnrollingCaller,
    body: web::Json<TotpConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    state.auth_limiter.check(&req)?;
    let site = super::rooms::caller_site(&state, &caller).await?;
    let user = caller.0.sub;
    let pending = state.store.interact(move |conn| mfa::totp_of(conn, &user)).await?.filter(|t| !t.enabled);
    let Some(pending) = pending else {
        return Err(ApiError::new(ErrorCode::Conflict, "there is no authenticator waiting for confirmation"));
    };
    let secret = state
        .sealer
        .open_totp_secret(&user, &pending.secret)
        .ok_or_else(|| ApiError::internal("a pending TOTP secret does not open"))?;
    let Some(step) = secret.matching_step(&body.code, now_secs()) else { return Err(wrong_code()) };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let codes = recovery_codes::generate();
    let hashes = codes.hashes.clone();
    if !state.store.interact(move |conn| mfa::enable_totp(conn, &user, step, &hashes)).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "there is no authenticator waiting for confirmation"));
    }
    let ended = other_sessions_end(&state, &caller, "mfa_change").await?;
    // A second factor is on now: a session that had to set one up is free again.
    state.store.interact(move |conn| sessions::clear_mfa_pending(conn, &user)).await?;
    audit(&state, &req, &site, user, "authn_mfa_enabled", ended);
    Ok(HttpResponse::Ok().json(RecoveryCodes { codes: codes.codes }))
}

/// The caller's site, once the caller has typed the password again.
async fn reauthenticated(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    body: ReauthRequest,
    failure_event: &'static str,
) -> Result<sites::Site, ApiError> {
    state.auth_limiter.check(req)?;
    let site = super::rooms::caller_site(state, caller).await?;
    super::auth::reauthenticate(state, req, &site, caller.0.sub, body.password, failure_event).await?;
    Ok(site)
}

/// Turns the second factor off (password required). Every other session ends.
#[utoipa::path(
    tag = "auth",
    request_body = ReauthRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "off; recovery codes deleted"),
        (status = 401, body = ErrorBody, description = "not signed in, or the password is wrong"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/mfa/totp/disable")]
pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<ReauthRequest>,
) -> Result<HttpResponse, ApiError> {
    let site = reauthenticated(&state, &req, &caller, body.into_inner(), "authn_mfa_disable_fail").await?;
    let (user, site_id) = (caller.0.sub, site.id);
    let required = state
        .store
        .interact(move |conn| {
            Ok(palisade_store::sites::mfa_required_roles(conn, &site_id)?.contains(&users::role_of(conn, &user)?))
        })
        .await?;
    if required {
        return Err(ApiError::new(ErrorCode::Forbidden, "your role on this site requires two-factor authentication"));
    }
    state.store.interact(move |conn| mfa::disable(conn, &user)).await?;
    let ended = other_sessions_end(&state, &caller, "mfa_change").await?;
    audit(&state, &req, &site, user, "authn_mfa_disabled", ended);
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the recovery codes (password required); the old ones stop working.
#[utoipa::path(
    tag = "auth",
    request_body = ReauthRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "no authenticator is enabled"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/mfa/recovery-codes")]
pub async fn regenerate_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<ReauthRequest>,
) -> Result<HttpResponse, ApiError> {
    let site = reauthenticated(&state, &req, &caller, body.into_inner(), "authn_mfa_codes_fail").await?;
    let user = caller.0.sub;
    if !state.store.interact(move |conn| mfa::is_enabled(conn, &user)).await? {
        return Err(ApiError::new(ErrorCode::Conflict, "turn on an authenticator first"));
    }
    let codes = recovery_codes::generate();
    let hashes = codes.hashes.clone();
    state.store.interact(move |conn| mfa::replace_recovery_codes(conn, &user, &hashes)).await?;
    audit(&state, &req, &site, user, "authn_mfa_codes_regenerated", 0);
    Ok(HttpResponse::Ok().json(RecoveryCodes { codes: codes.codes }))
}
