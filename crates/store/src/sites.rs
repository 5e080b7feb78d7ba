//! Sites (tenants): the origins allowed to embed each, and their settings.

use diesel::prelude::*;
use palisade_protocol::SitePublicId;
use palisade_protocol::roles::Role;
use palisade_protocol::sites::SignUpMode;
use uuid::Uuid;

use crate::connection::write_transaction;
use crate::schema::{messages, rooms as room_table, site_origins, sites, users};
use crate::{DbConnection, StoreError, ids, now_millis, rooms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: Uuid,
    pub public_id: SitePublicId,
    pub name: String,
    /// Exact `scheme://host[:port]` origins allowed to embed the widget.
    pub allowed_origins: Vec<String>,
    pub sign_up: SignUpMode,
    /// Messages older than this many days are deleted; `None` keeps them forever.
    pub retention_days: Option<u32>,
}

#[derive(Queryable)]
struct SiteRow {
    id: String,
    public_id: String,
    name: String,
    sign_up: String,
    retention_days: Option<i32>,
}

type Columns = (sites::id, sites::public_id, sites::name, sites::sign_up, sites::retention_days);
const COLUMNS: Columns = (sites::id, sites::public_id, sites::name, sites::sign_up, sites::retention_days);

fn load(conn: &mut DbConnection, row: SiteRow) -> Result<Site, StoreError> {
    let allowed_origins = site_origins::table
        .filter(site_origins::site_id.eq(&row.id))
        .select(site_origins::origin)
        .order(site_origins::origin.asc())
        .load::<String>(conn)?;
    Ok(Site {
        id: ids::parse(&row.id)?,
        public_id: row.public_id.parse().map_err(|e| StoreError::Corrupt(format!("site public id: {e}")))?,
        name: row.name,
        allowed_origins,
        sign_up: row.sign_up.parse().map_err(|e| StoreError::Corrupt(format!("site sign-up mode: {e}")))?,
        retention_days: row
            .retention_days
            .map(u32::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt("negative site retention".into()))?,
    })
}

pub fn find_by_public_id(conn: &mut DbConnection, public_id: &SitePublicId) -> Result<Option<Site>, StoreError> {
    let row = sites::table
        .filter(sites::public_id.eq(public_id.as_str()))
        .select(COLUMNS)
        .first::<SiteRow>(conn)
        .optional()?;
    row.map(|row| load(conn, row)).transpose()
}

fn find_required(conn: &mut DbConnection, public_id: &SitePublicId) -> Result<Site, StoreError> {
    find_by_public_id(conn, public_id)?.ok_or(StoreError::NotFound)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Site>, StoreError> {
    let rows = sites::table.select(COLUMNS).order(sites::public_id.asc()).load::<SiteRow>(conn)?;
    rows.into_iter().map(|row| load(conn, row)).collect()
}

/// Replaces the origins of a site with `origins`, which [`sorted`] has already deduplicated.
fn replace_origins(conn: &mut DbConnection, site_id: &str, origins: &[String]) -> Result<(), StoreError> {
    diesel::delete(site_origins::table.filter(site_origins::site_id.eq(site_id))).execute(conn)?;
    for origin in origins {
        diesel::insert_into(site_origins::table)
            .values((site_origins::site_id.eq(site_id), site_origins::origin.eq(origin)))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates a site with its default room. Origins must already be validated by the caller.
pub fn create(
    conn: &mut DbConnection,
    public_id: &SitePublicId,
    name: &str,
    origins: &[String],
) -> Result<Site, StoreError> {
    write_transaction(conn, |conn| {
        let id = ids::new_id();
        let id_text = ids::to_text(&id);
        let inserted = diesel::insert_into(sites::table)
            .values((
                sites::id.eq(&id_text),
                sites::public_id.eq(public_id.as_str()),
                sites::name.eq(name),
                sites::created_at.eq(now_millis()),
            ))
            .execute(conn);
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::SiteExists(public_id.to_string()));
            }
            other => other?,
        };
        replace_origins(conn, &id_text, &sorted(origins))?;
        rooms::create_default(conn, &id)?;
        find_required(conn, public_id)
    })
}

/// What [`update`] changes; `None` leaves that setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteChanges {
    pub name: Option<String>,
    /// Replaces every allowed origin. Origins must already be validated by the caller.
    pub origins: Option<Vec<String>>,
    pub sign_up: Option<SignUpMode>,
    /// `Some(None)` keeps messages forever.
    pub retention_days: Option<Option<u32>>,
}

/// Changes the settings of an existing site and returns it as it is now.
pub fn update(conn: &mut DbConnection, public_id: &SitePublicId, changes: &SiteChanges) -> Result<Site, StoreError> {
    // Looked up before the transaction, which then starts with a write: on SQLite a transaction
    // that reads first and writes later fails at once ("database is locked") when another
    // connection wrote in between, where one that writes first waits its turn.
    let id_text = find_required(conn, public_id).map(|site| ids::to_text(&site.id))?;
    write_transaction(conn, |conn| {
        let row = sites::table.find(&id_text);
        if let Some(name) = &changes.name {
            diesel::update(row).set(sites::name.eq(name)).execute(conn)?;
        }
        if let Some(origins) = &changes.origins {
            replace_origins(conn, &id_text, &sorted(origins))?;
        }
        if let Some(mode) = changes.sign_up {
            diesel::update(row).set(sites::sign_up.eq(mode.as_str())).execute(conn)?;
        }
        if let Some(days) = changes.retention_days {
            let days = days
                .map(i32::try_from)
                .transpose()
                .map_err(|_| StoreError::Conflict("retention is out of range".into()))?;
            diesel::update(row).set(sites::retention_days.eq(days)).execute(conn)?;
        }
        find_required(conn, public_id)
    })
}

/// What a removed site had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub id: Uuid,
    pub users: i64,
    pub rooms: i64,
    pub messages: i64,
}

/// Deletes a site and, through the foreign keys' cascades, everything of it: origins, rooms,
/// messages, accounts with their sessions and second factors, pending sign-ups and resets.
/// The audit trail has no foreign keys and keeps its rows.
pub fn remove(conn: &mut DbConnection, public_id: &SitePublicId) -> Result<Removed, StoreError> {
    write_transaction(conn, |conn| {
        let id = find_required(conn, public_id)?.id;
        let id_text = ids::to_text(&id);
        let site_rooms = room_table::table.filter(room_table::site_id.eq(&id_text)).select(room_table::id);
        let removed = Removed {
            id,
            users: users::table.filter(users::site_id.eq(&id_text)).count().get_result(conn)?,
            rooms: room_table::table.filter(room_table::site_id.eq(&id_text)).count().get_result(conn)?,
            messages: messages::table.filter(messages::room_id.eq_any(site_rooms)).count().get_result(conn)?,
        };
        diesel::delete(sites::table.find(&id_text)).execute(conn)?;
        Ok(removed)
    })
}

fn sorted(origins: &[String]) -> Vec<String> {
    let mut origins = origins.to_vec();
    origins.sort();
    origins.dedup();
    origins
}

/// Every origin allowed by any site: what the CORS layer may answer at all.
pub fn all_allowed_origins(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(site_origins::table.select(site_origins::origin).distinct().load::<String>(conn)?)
}

fn roles_to_text(roles: &[Role]) -> String {
    let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

fn roles_from_text(text: &str) -> Result<Vec<Role>, StoreError> {
    text.split(',')
        .filter(|name| !name.is_empty())
        .map(|name| name.parse().map_err(|e: palisade_protocol::roles::UnknownRole| StoreError::Corrupt(e.to_string())))
        .collect()
}

/// Sets which roles must use a second factor on the site.
pub fn set_mfa_required_roles(
    conn: &mut DbConnection,
    public_id: &SitePublicId,
    roles: &[Role],
) -> Result<(), StoreError> {
    let updated = diesel::update(sites::table.filter(sites::public_id.eq(public_id.as_str())))
        .set(sites::mfa_required_roles.eq(roles_to_text(roles)))
        .execute(conn)?;
    if updated == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// The roles that must use a second factor on the site.
pub fn mfa_required_roles(conn: &mut DbConnection, site_id: &Uuid) -> Result<Vec<Role>, StoreError> {
    let text = sites::table.find(ids::to_text(site_id)).select(sites::mfa_required_roles).first::<String>(conn)?;
    roles_from_text(&text)
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Messages deleted per statement, so that deleting a long history never holds SQLite's write
/// lock long enough to stall people sending messages.
const PRUNE_BATCH: i64 = 1000;

/// Deletes, as of `now`, the messages older than their site's retention. Rooms keep their
/// `last_seq`, so sequence numbers are never reused: history just starts later.
pub fn prune_past_retention(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    let policies = sites::table
        .filter(sites::retention_days.is_not_null())
        .select((sites::id, sites::retention_days))
        .load::<(String, Option<i32>)>(conn)?;
    let mut pruned = 0;
    for (site, days) in policies.into_iter().filter_map(|(site, days)| Some((site, days?))) {
        let cutoff = now.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
        loop {
            let site_rooms = room_table::table.filter(room_table::site_id.eq(&site)).select(room_table::id);
            let batch = messages::table
                .filter(messages::room_id.eq_any(site_rooms))
                .filter(messages::sent_at.lt(cutoff))
                .select(messages::id)
                .limit(PRUNE_BATCH)
                .load::<String>(conn)?;
            pruned += diesel::delete(messages::table.filter(messages::id.eq_any(&batch))).execute(conn)?;
            if i64::try_from(batch.len()).unwrap_or(i64::MAX) < PRUNE_BATCH {
                break;
            }
        }
    }
    Ok(pruned)
}
