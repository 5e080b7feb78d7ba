//! Background upkeep of the keys: pick up rotations, then re-seal values still under older
//! data keys, in batches. Progress lives in the database itself (each row names its key), so a
//! crash or restart simply resumes where it stopped, and several servers can share the work.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_protocol::{MessageId, UserId};
use palisade_store::{Sealed, Store, messages, mfa, users, vault_keys};
use palisade_vault::Aad;
use uuid::Uuid;

use super::{Sealer, body_aad, email_aad, totp_secret_aad, version_aad};
use crate::metrics::Metrics;

const EVERY: Duration = Duration::from_secs(5);
const BATCH: i64 = 200;

/// Rows that did not open. They are reported once per process and then passed over, not
/// retried (and re-reported) every few seconds.
#[derive(Default)]
struct Skipped {
    bodies: HashSet<MessageId>,
    versions: HashSet<Uuid>,
    emails: HashSet<UserId>,
    secrets: HashSet<UserId>,
}

/// Where a pass has got to in each sealed column.
#[derive(Default)]
struct Cursor {
    bodies: Option<MessageId>,
    versions: Option<Uuid>,
    emails: Option<UserId>,
    secrets: Option<UserId>,
}

/// What one batch did.
#[derive(Debug, PartialEq, Eq)]
struct Batch {
    /// Rows read (a batch that read none ends the pass).
    seen: usize,
    resealed: usize,
}

/// Re-seals one column's rows `(id, value, its AAD)`, advancing the cursor past all of them.
fn reseal_rows<Id: Copy + Eq + std::hash::Hash + std::fmt::Display>(
    sealer: &Sealer,
    table: &'static str,
    rows: Vec<(Id, Sealed, Aad)>,
    skipped: &mut HashSet<Id>,
    cursor: &mut Option<Id>,
) -> Vec<(Id, u32, Sealed)> {
    *cursor = rows.last().map(|(id, _, _)| *id).or(*cursor);
    let mut resealed = Vec::new();
    for (id, sealed, aad) in rows {
        if skipped.contains(&id) {
            continue;
        }
        match sealer.reseal(&sealed, &aad, table, &id) {
            Some(new) => resealed.push((id, sealed.key_id, new)),
            None => {
                skipped.insert(id);
            }
        }
    }
    resealed
}

/// Re-seals the next batch of each sealed column after `cursor`.
fn reencrypt_batch(
    sealer: &Sealer,
    store: &Store,
    skipped: &mut Skipped,
    cursor: &mut Cursor,
) -> Result<Batch, palisade_store::StoreError> {
    let active = sealer.active_key();
    let bodies: Vec<_> = store
        .with_connection(|c| messages::bodies_not_under(c, active, cursor.bodies.as_ref(), BATCH))?
        .into_iter()
        .map(|r| (r.id, r.body, body_aad(&r.id, &r.room)))
        .collect();
    let versions: Vec<_> = store
        .with_connection(|c| messages::versions_not_under(c, active, cursor.versions.as_ref(), BATCH))?
        .into_iter()
        .map(|v| (v.id, v.body, version_aad(&v.id, &v.message)))
        .collect();
    let emails: Vec<_> = store
        .with_connection(|c| users::emails_not_under(c, active, cursor.emails.as_ref(), BATCH))?
        .into_iter()
        .map(|r| (r.user, r.email, email_aad(&r.user, &r.site_id)))
        .collect();
    let secrets: Vec<_> = store
        .with_connection(|c| mfa::secrets_not_under(c, active, cursor.secrets.as_ref(), BATCH))?
        .into_iter()
        .map(|r| (r.user, r.secret, totp_secret_aad(&r.user)))
        .collect();
    let seen = bodies.len() + versions.len() + emails.len() + secrets.len();
    let bodies = reseal_rows(sealer, "messages", bodies, &mut skipped.bodies, &mut cursor.bodies);
    let versions = reseal_rows(sealer, "message_edits", versions, &mut skipped.versions, &mut cursor.versions);
    let emails = reseal_rows(sealer, "users", emails, &mut skipped.emails, &mut cursor.emails);
    let secrets = reseal_rows(sealer, "mfa_totp", secrets, &mut skipped.secrets, &mut cursor.secrets);
    let resealed = store.with_connection(|c| messages::replace_bodies(c, &bodies))?
        + store.with_connection(|c| messages::replace_versions(c, &versions))?
        + store.with_connection(|c| users::replace_emails(c, &emails))?
        + store.with_connection(|c| mfa::replace_secrets(c, &secrets))?;
    Ok(Batch { seen, resealed })
}

/// Re-seals everything under older keys, reporting progress in the log and the metrics;
/// returns the count re-sealed.
fn reencrypt_all(
    sealer: &Sealer,
    store: &Store,
    skipped: &mut Skipped,
    metrics: &Metrics,
) -> Result<usize, palisade_store::StoreError> {
    let started = Instant::now();
    let mut cursor = Cursor::default();
    let mut total = 0;
    loop {
        let batch = reencrypt_batch(sealer, store, skipped, &mut cursor)?;
        if batch.seen == 0 {
            break;
        }
        total += batch.resealed;
        metrics.reencrypted(batch.resealed);
        let left = store.with_connection(|c| vault_keys::not_under(c, sealer.active_key()))?;
        metrics.reencrypt_progress(left.total());
        tracing::info!(resealed = total, remaining = left.total(), "re-encrypting under the active data key");
    }
    if total > 0 {
        let rate = total as f64 / started.elapsed().as_secs_f64().max(1e-3);
        tracing::info!(resealed = total, rows_per_sec = rate.round(), "re-encryption pass finished");
    }
    Ok(total)
}

/// How often the per-key counts are refreshed when there is nothing to re-encrypt: counting
/// every row is not free on a large database.
const COUNT_EVERY: Duration = Duration::from_secs(60);

fn count_per_key(sealer: &Sealer, store: &Store, metrics: &Metrics) -> Result<(), palisade_store::StoreError> {
    let mut per_key = Vec::new();
    for (id, _) in sealer.keyring().key_states() {
        per_key.push((id, store.with_connection(|c| vault_keys::usage(c, id))?.total()));
    }
    let remaining = per_key.iter().filter(|(id, _)| *id != sealer.active_key()).map(|(_, n)| n).sum();
    metrics.key_usage(&per_key, remaining);
    Ok(())
}

/// Every few seconds: reload rotated keys, then re-encrypt what is left under older ones.
pub fn spawn_maintenance(sealer: Arc<Sealer>, store: Store, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        let skipped = Arc::new(std::sync::Mutex::new(Skipped::default()));
        let mut last_count: Option<Instant> = None;
        loop {
            every.tick().await;
            let (sealer, store, metrics, skipped) =
                (Arc::clone(&sealer), store.clone(), Arc::clone(&metrics), Arc::clone(&skipped));
            let count_due = last_count.is_none_or(|at| at.elapsed() >= COUNT_EVERY);
            let pass = tokio::task::spawn_blocking(move || {
                let reloaded = match sealer.reload(&store) {
                    Ok(changed) => changed,
                    Err(error) => {
                        tracing::error!(%error, "could not reload data keys; keeping the current ones");
                        false
                    }
                };
                let mut skipped = skipped.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let resealed = reencrypt_all(&sealer, &store, &mut skipped, &metrics)?;
                let counted = count_due || reloaded || resealed > 0;
                if counted {
                    count_per_key(&sealer, &store, &metrics)?;
                }
                Ok::<_, palisade_store::StoreError>(counted)
            })
            .await;
            match pass {
                Ok(Err(error)) => tracing::warn!(%error, "re-encryption pass failed; will retry"),
                Err(error) => tracing::error!(%error, "re-encryption task failed"),
                Ok(Ok(true)) => last_count = Some(Instant::now()),
                Ok(Ok(false)) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::sealing::admin;
    use palisade_protocol::{ClientMessageId, MessageId, UserId};
    use palisade_store::test_support::TestDatabase;
    use palisade_store::{rooms, sites};
    use uuid::Uuid;

    fn load_sealer(config: &Config, store: &Store) -> Sealer {
        Sealer::load(config, store, crate::audit::Audit::detached(Arc::default())).unwrap()
    }

    /// A site, one user and `total` messages, of which the first `unreadable` are sealed for
    /// another room and so cannot open.
    fn fill(sealer: &Sealer, store: &Store, total: usize, unreadable: usize) -> palisade_protocol::RoomId {
        let site = store.with_connection(|c| sites::create(c, &"acme".parse().unwrap(), "Acme", &[])).unwrap();
        let room = store.with_connection(|c| rooms::default_of(c, &site.id)).unwrap().id;
        let user = UserId(Uuid::new_v4());
        let email = sealer.seal_email(&user, &site.id, "ada@example.org").unwrap();
        let index = sealer.email_index(&site.id, "ada@example.org");
        let new_user = users::NewUser {
            id: user,
            site_id: site.id,
            email_index: &index,
            email: &email,
            display_name: "Ada",
            password_hash: "h",
        };
        store.with_connection(|c| users::create(c, &new_user)).unwrap();
        let secret = sealer.seal_totp_secret(&user, &palisade_auth::totp::TotpSecret::generate()).unwrap();
        store.with_connection(|c| mfa::put_pending_totp(c, &user, &secret)).unwrap();
        let elsewhere = palisade_protocol::RoomId(Uuid::new_v4());
        for n in 0..total {
            let id = MessageId(Uuid::new_v4());
            let sealed_for = if n < unreadable { elsewhere } else { room };
            let body = sealer.seal_body(&id, &sealed_for, &format!("message {n}")).unwrap();
            let new = messages::NewMessage {
                id,
                room,
                author: user,
                author_name: "Ada",
                client_id: ClientMessageId(Uuid::new_v4()),
                body: &body,
            };
            store.with_connection(|c| messages::append(c, &new)).unwrap();
        }
        room
    }

    fn config(db: &TestDatabase, data: &std::path::Path) -> Config {
        Config {
            data_dir: data.to_owned(),
            database_url: Some(crate::config::Secret::new(db.url())),
            ..Config::default()
        }
    }

    #[test]
    fn re_encryption_interrupted_midway_resumes_after_a_restart() {
        let db = TestDatabase::create();
        let data = tempfile::tempdir().unwrap();
        let config = config(&db, data.path());
        let store = Store::open(db.url(), 2).unwrap();
        let sealer = load_sealer(&config, &store);
        let total = 450;
        let room = fill(&sealer, &store, total, 0);

        admin::rotate(&config, &store).unwrap();
        assert!(sealer.reload(&store).unwrap());
        let first_batch =
            reencrypt_batch(&sealer, &store, &mut Skipped::default(), &mut Cursor::default()).unwrap().resealed;
        assert_eq!(first_batch, BATCH as usize + 2, "one batch of bodies, the one email and the one TOTP secret");
        drop(sealer); // the process dies here

        let restarted = load_sealer(&config, &store);
        assert_eq!(restarted.active_key(), 2);
        let rest = reencrypt_all(&restarted, &store, &mut Skipped::default(), &Metrics::default()).unwrap();
        assert_eq!(first_batch + rest, total + 2);
        assert_eq!(store.with_connection(|c| vault_keys::not_under(c, 2)).unwrap().total(), 0);
        let (page, _) = store.with_connection(|c| messages::page(c, &room, messages::Cursor::After(0), 100)).unwrap();
        for message in page {
            assert_eq!(message.body.key_id, 2);
            assert!(restarted.open_body(&message.id, &message.room, &message.body).is_some());
        }
        let user = page_author(&store, room);
        let secret = store.with_connection(|c| mfa::totp_of(c, &user)).unwrap().unwrap().secret;
        assert_eq!(secret.key_id, 2);
        assert!(restarted.open_totp_secret(&user, &secret).is_some());
        admin::retire(&config, &store, 1).unwrap();
    }

    fn page_author(store: &Store, room: palisade_protocol::RoomId) -> UserId {
        let (page, _) = store.with_connection(|c| messages::page(c, &room, messages::Cursor::After(0), 1)).unwrap();
        page[0].author
    }

    #[test]
    fn values_that_do_not_open_are_passed_over_not_retried_forever() {
        let db = TestDatabase::create();
        let data = tempfile::tempdir().unwrap();
        let config = config(&db, data.path());
        let store = Store::open(db.url(), 2).unwrap();
        let sealer = load_sealer(&config, &store);
        // More unreadable rows than one batch holds, and they come first.
        let unreadable = BATCH as usize + 50;
        fill(&sealer, &store, unreadable + 100, unreadable);
        admin::rotate(&config, &store).unwrap();
        sealer.reload(&store).unwrap();

        let metrics = Metrics::default();
        let mut skipped = Skipped::default();
        assert_eq!(reencrypt_all(&sealer, &store, &mut skipped, &metrics).unwrap(), 100 + 2);
        assert_eq!(skipped.bodies.len(), unreadable);
        assert_eq!(store.with_connection(|c| vault_keys::not_under(c, 2)).unwrap().total(), unreadable as u64);
        assert_eq!(reencrypt_all(&sealer, &store, &mut skipped, &metrics).unwrap(), 0, "nothing is retried");
        assert!(metrics.encode().unwrap().contains(&format!("palisade_reencrypt_remaining {unreadable}")));
    }
}
