//! The append-only audit trail.

use diesel::prelude::*;
use uuid::Uuid;

use crate::connection::write_transaction;
use crate::schema::audit_events;
use crate::{DbConnection, StoreError, ids};

/// One audit event as stored. The server decides the vocabulary; storage only keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// A UUIDv7, so the id orders events by time.
    pub id: Uuid,
    /// Unix milliseconds, UTC.
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub site_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A JSON object.
    pub details: String,
}

type Row = (String, i64, String, String, Option<String>, Option<String>, Option<String>, Option<String>, String);

fn from_row(row: Row) -> Result<AuditRecord, StoreError> {
    let (id, at, event, outcome, site_id, actor_id, ip, user_agent, details) = row;
    Ok(AuditRecord {
        id: ids::parse(&id)?,
        at,
        event,
        outcome,
        site_id: site_id.as_deref().map(ids::parse).transpose()?,
        actor_id: actor_id.as_deref().map(ids::parse).transpose()?,
        ip,
        user_agent,
        details,
    })
}

/// Appends events in one transaction: a batch lands whole or not at all.
pub fn append(conn: &mut DbConnection, records: &[AuditRecord]) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        for r in records {
            diesel::insert_into(audit_events::table)
                .values((
                    audit_events::id.eq(ids::to_text(&r.id)),
                    audit_events::at.eq(r.at),
                    audit_events::event.eq(&r.event),
                    audit_events::outcome.eq(&r.outcome),
                    audit_events::site_id.eq(r.site_id.as_ref().map(ids::to_text)),
                    audit_events::actor_id.eq(r.actor_id.as_ref().map(ids::to_text)),
                    audit_events::ip.eq(&r.ip),
                    audit_events::user_agent.eq(&r.user_agent),
                    audit_events::details.eq(&r.details),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub site_id: Option<Uuid>,
    pub event: Option<String>,
    pub outcome: Option<String>,
    pub actor_id: Option<Uuid>,
    /// Only events older than this id (the last id of the previous page).
    pub before: Option<Uuid>,
    pub limit: i64,
}

pub fn query(conn: &mut DbConnection, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
    let mut select = audit_events::table.into_boxed();
    if let Some(site) = &q.site_id {
        select = select.filter(audit_events::site_id.eq(ids::to_text(site)));
    }
    if let Some(event) = &q.event {
        select = select.filter(audit_events::event.eq(event.clone()));
    }
    if let Some(outcome) = &q.outcome {
        select = select.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(actor) = &q.actor_id {
        select = select.filter(audit_events::actor_id.eq(ids::to_text(actor)));
    }
    if let Some(before) = &q.before {
        select = select.filter(audit_events::id.lt(ids::to_text(before)));
    }
    select
        .order(audit_events::id.desc())
        .limit(q.limit)
        .select((
            audit_events::id,
            audit_events::at,
            audit_events::event,
            audit_events::outcome,
            audit_events::site_id,
            audit_events::actor_id,
            audit_events::ip,
            audit_events::user_agent,
            audit_events::details,
        ))
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::test_support::TestDatabase;

    fn record(event: &str, site: Option<Uuid>) -> AuditRecord {
        AuditRecord {
            id: Uuid::now_v7(),
            at: crate::now_millis(),
            event: event.into(),
            outcome: "failure".into(),
            site_id: site,
            actor_id: None,
            ip: Some("192.0.2.0".into()),
            user_agent: None,
            details: "{}".into(),
        }
    }

    #[test]
    fn events_read_back_newest_first_filtered_and_paged() {
        let db = TestDatabase::create();
        let store = Store::open(db.url(), 1).unwrap();
        let site = Uuid::new_v4();
        let written: Vec<_> = (0..5)
            .map(|i| record(if i % 2 == 0 { "authn_login_fail" } else { "crypt_decrypt_fail" }, Some(site)))
            .collect();
        store.with_connection(|c| append(c, &written)).unwrap();
        store.with_connection(|c| append(c, &[record("authn_login_fail", None)])).unwrap();

        let q =
            AuditQuery { site_id: Some(site), event: Some("authn_login_fail".into()), limit: 2, ..Default::default() };
        let page = store.with_connection(|c| query(c, &q)).unwrap();
        assert_eq!(page, vec![written[4].clone(), written[2].clone()]);
        let next = AuditQuery { before: Some(page[1].id), ..q };
        assert_eq!(store.with_connection(|c| query(c, &next)).unwrap(), vec![written[0].clone()]);
    }
}
