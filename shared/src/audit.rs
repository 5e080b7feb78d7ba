//! The audit trail as a site's owner and admins read it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::UserId;
use crate::time::Timestamp;

/// Events read per page at most.
pub const AUDIT_PAGE_MAX: u32 = 100;

/// `GET /api/v1/site/audit` query. Every filter is exact; the newest events come first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// An OWASP logging vocabulary name, e.g. `authn_login_fail` or `authz_change`.
    pub event: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Only what this person did.
    pub actor: Option<UserId>,
    /// Only events older than this one: the previous page's `next_before`.
    pub before: Option<Uuid>,
    /// Page size, 1 to [`AUDIT_PAGE_MAX`] (default 50).
    pub limit: Option<u32>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Orders events by time (a UUIDv7).
    pub id: Uuid,
    pub at: Timestamp,
    pub event: String,
    pub outcome: String,
    pub actor: Option<UserId>,
    /// The client's address, truncated (IPv4 to /24, IPv6 to /48).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// What the event is about: never secrets or message text.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
}

/// A page of events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<Uuid>,
}
