//! The site's own administration, for its owner and admins: its settings, who has which role,
//! and its audit trail. Operators do the same from the host with `palisade-server site …` and `user role`; both
//! go through the same checks and store calls.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, put, web};
use palisade_protocol::audit::{AUDIT_PAGE_MAX, AuditEntry, AuditPage, AuditQuery};
use palisade_protocol::permissions::{self, Action};
use palisade_protocol::roles::Role;
use palisade_protocol::sites::{RoleChange, SiteSettings, SiteSettingsChange};
use palisade_protocol::{ErrorBody, ErrorCode, SitePublicId, Timestamp, UserId};
use palisade_store::audit::{self, AuditRecord};
use palisade_store::sites::{self, SiteChanges};
use palisade_store::{StoreError, sessions, users};
use serde_json::json;

use super::rooms::actor_of;
use crate::app::AppState;
use crate::audit::Outcome;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::origins;

/// The longest retention a site may set: a century, so the days fit every database's integer.
const RETENTION_DAYS_MAX: u32 = 36_500;

/// A site name as people will see it: trimmed, and within the display-name rules.
pub fn checked_site_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    palisade_protocol::limits::check_display_name(name).map_err(|e| format!("site name: {e}"))?;
    Ok(name)
}

/// Every origin exact (`scheme://host[:port]`), as browsers send them.
pub fn check_origins(allowed: &[String]) -> Result<(), String> {
    allowed.iter().try_for_each(|origin| origins::validate(origin))
}

async fn settings_of(state: &AppState, public_id: SitePublicId) -> Result<SiteSettings, ApiError> {
    let (site, mfa_required_roles) = state
        .store
        .interact(move |conn| {
            let site = sites::find_by_public_id(conn, &public_id)?.ok_or(StoreError::NotFound)?;
            let roles = sites::mfa_required_roles(conn, &site.id)?;
            Ok((site, roles))
        })
        .await?;
    Ok(SiteSettings {
        name: site.name,
        allowed_origins: site.allowed_origins,
        sign_up: site.sign_up,
        retention_days: site.retention_days,
        mfa_required_roles,
    })
}

/// The caller's site's settings.
#[utoipa::path(
    tag = "site administration",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SiteSettings),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "only the site's owner and admins"),
    )
)]
#[get("/site/settings")]
pub async fn settings(state: web::Data<AppState>, caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::ManageSite, None)?;
    Ok(HttpResponse::Ok().json(settings_of(&state, caller.0.site.clone()).await?))
}

/// A settings change with every value checked, as the store takes it.
struct Validated {
    changes: SiteChanges,
    mfa_required_roles: Option<Vec<Role>>,
    /// The names of the fields it sets, for the audit trail.
    fields: Vec<&'static str>,
}

fn validated(change: SiteSettingsChange) -> Result<Validated, ApiError> {
    let invalid = |message: String| ApiError::new(ErrorCode::ValidationFailed, message);
    let name = change.name.as_deref().map(checked_site_name).transpose().map_err(invalid)?.map(str::to_owned);
    if let Some(allowed) = &change.allowed_origins {
        if allowed.is_empty() {
            return Err(invalid("a site needs at least one allowed origin".into()));
        }
        check_origins(allowed).map_err(invalid)?;
    }
    if let Some(Some(days)) = change.retention_days
        && !(1..=RETENTION_DAYS_MAX).contains(&days)
    {
        return Err(invalid(format!("retention_days must be 1 to {RETENTION_DAYS_MAX}, or null to keep forever")));
    }
    let fields = [
        ("name", name.is_some()),
        ("allowed_origins", change.allowed_origins.is_some()),
        ("sign_up", change.sign_up.is_some()),
        ("retention_days", change.retention_days.is_some()),
        ("mfa_required_roles", change.mfa_required_roles.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect::<Vec<_>>();
    if fields.is_empty() {
        return Err(invalid("nothing to change".into()));
    }
    let changes = SiteChanges {
        name,
        origins: change.allowed_origins,
        sign_up: change.sign_up,
        retention_days: change.retention_days,
    };
    Ok(Validated { changes, mfa_required_roles: change.mfa_required_roles, fields })
}

/// Changes the caller's site's settings; fields left out stay as they are. New origins take
/// effect on this instance at once and on the others within 30 seconds.
#[utoipa::path(
    tag = "site administration",
    security(("bearer" = [])),
    request_body = SiteSettingsChange,
    responses(
        (status = 200, body = SiteSettings, description = "the settings as they are now"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "only the site's owner and admins"),
        (status = 422, body = ErrorBody, description = "an invalid value, or nothing to change"),
    )
)]
#[patch("/site/settings")]
pub async fn change_settings(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SiteSettingsChange>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::ManageSite, None)?;
    let Validated { changes, mfa_required_roles, fields } = validated(body.into_inner())?;
    let public_id = caller.0.site.clone();
    let origins_changed = changes.origins.is_some();
    state
        .store
        .interact(move |conn| {
            if changes != SiteChanges::default() {
                sites::update(conn, &public_id, &changes)?;
            }
            if let Some(roles) = mfa_required_roles {
                sites::set_mfa_required_roles(conn, &public_id, &roles)?;
            }
            Ok(())
        })
        .await?;
    if origins_changed {
        state.origins.replace(state.store.interact(sites::all_allowed_origins).await?);
    }
    state.audit.record(
        actor
            .event("sensitive_update", Outcome::Success)
            .with_detail("object", "site")
            .with_detail("fields", json!(fields)),
    );
    Ok(HttpResponse::Ok().json(settings_of(&state, caller.0.site.clone()).await?))
}

/// Gives someone on the caller's site another role. Only reaching down, and only to a role
/// still below the caller's own: admins make moderators and members, only owners make admins,
/// and nobody makes or unmakes an owner here (that stays with the operator).
#[utoipa::path(
    tag = "site administration",
    security(("bearer" = [])),
    params(("user" = UserId, Path, description = "the person")),
    request_body = RoleChange,
    responses(
        (status = 200, body = RoleChange, description = "the person's role now"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "the caller may not give this role to this person"),
        (status = 404, body = ErrorBody, description = "no such person on the site"),
    )
)]
#[put("/site/people/{user}/role")]
pub async fn assign_role(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<UserId>,
    body: web::Json<RoleChange>,
) -> Result<HttpResponse, ApiError> {
    let (target, RoleChange { role }) = (path.into_inner(), body.into_inner());
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::AssignRoles, None)?;
    let current = actor.target_role(&state, Action::AssignRoles, None, target).await?;
    if !permissions::outranks(actor.role, current) || !permissions::outranks(actor.role, role) {
        actor.refused(&state, Action::AssignRoles.as_str(), None, "role not below the actor's");
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "you may only change the role of people below yours, to a role below yours",
        ));
    }
    let site = actor.site;
    state.store.interact(move |conn| users::set_role_of(conn, &site, &target, role)).await?;
    state.audit.record(
        actor
            .event("authz_change", Outcome::Success)
            .with_detail("target", target.to_string())
            .with_detail("from", current.as_str())
            .with_detail("to", role.as_str()),
    );
    Ok(HttpResponse::Ok().json(RoleChange { role }))
}

/// Signs someone on the caller's site out everywhere: every session of theirs ends, their
/// refresh tokens stop working and their open sockets close within seconds. Only reaching down,
/// as with roles; they may sign in again (disabling an account stays with the operator).
#[utoipa::path(
    tag = "site administration",
    security(("bearer" = [])),
    params(("user" = UserId, Path, description = "the person")),
    responses(
        (status = 204, description = "every session of the person has ended (also when none was open)"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "only owners and admins, and only for people below them"),
        (status = 404, body = ErrorBody, description = "no such person on the site"),
    )
)]
#[delete("/site/people/{user}/sessions")]
pub async fn end_sessions(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    let target = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require_over(&state, Action::EndSessions, None, target).await?;
    let now = palisade_store::now_millis();
    let ended =
        state.store.interact(move |conn| sessions::revoke_all(conn, &target, None, now, "ended_by_admin")).await?;
    state.audit.record(
        actor
            .event("session_expired", Outcome::Success)
            .with_detail("target", target.to_string())
            .with_detail("reason", "ended_by_admin")
            .with_detail("sessions", ended),
    );
    Ok(HttpResponse::NoContent().finish())
}

const AUDIT_PAGE_DEFAULT: u32 = 50;

fn entry(record: AuditRecord) -> AuditEntry {
    // Details are written by the server as JSON objects; anything else is shown as text.
    let details = serde_json::from_str(&record.details).unwrap_or(serde_json::Value::String(record.details));
    AuditEntry {
        id: record.id,
        at: Timestamp(record.at),
        event: record.event,
        outcome: record.outcome,
        actor: record.actor_id.map(UserId),
        ip: record.ip,
        user_agent: record.user_agent,
        details,
    }
}

/// The caller's site's audit trail, newest first, filtered and paged.
#[utoipa::path(
    tag = "site administration",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, body = ErrorBody, description = "an unknown or malformed query parameter"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "only the site's owner and admins"),
        (status = 422, body = ErrorBody, description = "a page size out of range"),
    )
)]
#[get("/site/audit")]
pub async fn audit_trail(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = super::page_size(query.limit, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX)?;
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::ReadAudit, None)?;
    let filter = audit::AuditQuery {
        // The site is always the caller's: nothing here reaches another site's trail.
        site_id: Some(actor.site),
        event: query.event,
        outcome: query.outcome,
        actor_id: query.actor.map(|user| user.0),
        before: query.before,
        // One more than asked, to tell whether an older page exists.
        limit: i64::from(limit) + 1,
    };
    let mut records = state.store.interact(move |conn| audit::query(conn, &filter)).await?;
    let more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next_before = more.then(|| records.last().map(|r| r.id)).flatten();
    Ok(HttpResponse::Ok().json(AuditPage { events: records.into_iter().map(entry).collect(), next_before }))
}
