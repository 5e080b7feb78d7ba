//! Sites (tenants) and the origins allowed to embed each.

use diesel::prelude::*;
use palisade_protocol::SitePublicId;
use palisade_protocol::roles::Role;
use uuid::Uuid;

use crate::schema::{site_origins, sites};
use crate::{DbConnection, StoreError, ids, now_millis, rooms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: Uuid,
    pub public_id: SitePublicId,
    pub name: String,
    /// Exact `scheme://host[:port]` origins allowed to embed the widget.
    pub allowed_origins: Vec<String>,
}

#[derive(Queryable)]
struct SiteRow {
    id: String,
    public_id: String,
    name: String,
}

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
    })
}

pub fn find_by_public_id(conn: &mut DbConnection, public_id: &SitePublicId) -> Result<Option<Site>, StoreError> {
    let row = sites::table
        .filter(sites::public_id.eq(public_id.as_str()))
        .select((sites::id, sites::public_id, sites::name))
        .first::<SiteRow>(conn)
        .optional()?;
    row.map(|row| load(conn, row)).transpose()
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Site>, StoreError> {
    let rows = sites::table
        .select((sites::id, sites::public_id, sites::name))
        .order(sites::public_id.asc())
        .load::<SiteRow>(conn)?;
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
    conn.transaction(|conn| {
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
        let origins = sorted(origins);
        replace_origins(conn, &id_text, &origins)?;
        rooms::create_default(conn, &id)?;
        Ok(Site { id, public_id: public_id.clone(), name: name.to_owned(), allowed_origins: origins })
    })
}

/// Replaces the name and the allowed origins of an existing site.
pub fn update(
    conn: &mut DbConnection,
    public_id: &SitePublicId,
    name: &str,
    origins: &[String],
) -> Result<Site, StoreError> {
    conn.transaction(|conn| {
        let id_text = sites::table
            .filter(sites::public_id.eq(public_id.as_str()))
            .select(sites::id)
            .first::<String>(conn)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        diesel::update(sites::table.find(&id_text)).set(sites::name.eq(name)).execute(conn)?;
        let origins = sorted(origins);
        replace_origins(conn, &id_text, &origins)?;
        Ok(Site {
            id: ids::parse(&id_text)?,
            public_id: public_id.clone(),
            name: name.to_owned(),
            allowed_origins: origins,
        })
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
