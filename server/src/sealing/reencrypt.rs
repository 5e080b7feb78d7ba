//! Background upkeep of the keys: pick up rotations, then re-seal values still under older
//! data keys, in batches. Progress lives in the database itself (each row names its key), so a
//! crash or restart simply resumes where it stopped, and several servers can share the work.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_store::{Store, messages, users, vault_keys};

use super::{Sealer, body_aad, email_aad};

const EVERY: Duration = Duration::from_secs(5);
const BATCH: i64 = 200;

/// Rows that did not open in this pass; they are reported once and skipped, not retried forever.
#[derive(Default)]
struct Skipped {
    bodies: HashSet<palisade_protocol::MessageId>,
    emails: HashSet<palisade_protocol::UserId>,
}

/// Re-seals one batch of bodies and one of emails; returns how many values it re-sealed.
fn reencrypt_batch(sealer: &Sealer, store: &Store, skipped: &mut Skipped) -> Result<usize, palisade_store::StoreError> {
    let active = sealer.active_key();
    let mut bodies = Vec::new();
    for row in store.with_connection(|c| messages::bodies_not_under(c, active, BATCH))? {
        if skipped.bodies.contains(&row.id) {
            continue;
        }
        match sealer.reseal(&row.body, &body_aad(&row.id, &row.room), "messages", &row.id) {
            Some(new) => bodies.push((row.id, row.body.key_id, new)),
            None => {
                skipped.bodies.insert(row.id);
            }
        }
    }
    let mut emails = Vec::new();
    for row in store.with_connection(|c| users::emails_not_under(c, active, BATCH))? {
        if skipped.emails.contains(&row.user) {
            continue;
        }
        match sealer.reseal(&row.email, &email_aad(&row.user, &row.site_id), "users", &row.user) {
            Some(new) => emails.push((row.user, row.email.key_id, new)),
            None => {
                skipped.emails.insert(row.user);
            }
        }
    }
    let done = store.with_connection(|c| messages::replace_bodies(c, &bodies))?
        + store.with_connection(|c| users::replace_emails(c, &emails))?;
    Ok(done)
}

/// Re-seals everything under older keys, logging progress; returns the count re-sealed.
fn reencrypt_all(sealer: &Sealer, store: &Store) -> Result<usize, palisade_store::StoreError> {
    let started = Instant::now();
    let mut skipped = Skipped::default();
    let mut total = 0;
    loop {
        let done = reencrypt_batch(sealer, store, &mut skipped)?;
        if done == 0 {
            break;
        }
        total += done;
        let left = store.with_connection(|c| vault_keys::not_under(c, sealer.active_key()))?;
        tracing::info!(resealed = total, remaining = left.total(), "re-encrypting under the active data key");
    }
    if total > 0 {
        let rate = total as f64 / started.elapsed().as_secs_f64().max(1e-3);
        tracing::info!(resealed = total, rows_per_sec = rate.round(), "re-encryption pass finished");
    }
    Ok(total)
}

/// Every few seconds: reload rotated keys, then re-encrypt what is left under older ones.
pub fn spawn_maintenance(sealer: Arc<Sealer>, store: Store) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            let (sealer, store) = (Arc::clone(&sealer), store.clone());
            let pass = tokio::task::spawn_blocking(move || {
                if let Err(error) = sealer.reload(&store) {
                    tracing::error!(%error, "could not reload data keys; keeping the current ones");
                }
                reencrypt_all(&sealer, &store)
            })
            .await;
            match pass {
                Ok(Err(error)) => tracing::warn!(%error, "re-encryption pass failed; will retry"),
                Err(error) => tracing::error!(%error, "re-encryption task failed"),
                Ok(Ok(_)) => {}
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

    #[test]
    fn re_encryption_interrupted_midway_resumes_after_a_restart() {
        let db = TestDatabase::create();
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: data.path().to_owned(),
            database_url: Some(crate::config::Secret::new(db.url())),
            ..Config::default()
        };
        let store = Store::open(db.url(), 2).unwrap();
        let sealer = Sealer::load(&config, &store).unwrap();
        let site = store.with_connection(|c| sites::create(c, &"acme".parse().unwrap(), "Acme", &[])).unwrap();
        let room = store.with_connection(|c| rooms::list_for_site(c, &site.id)).unwrap()[0].id;
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
        let total = 450;
        for n in 0..total {
            let id = MessageId(Uuid::new_v4());
            let body = sealer.seal_body(&id, &room, &format!("message {n}")).unwrap();
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

        admin::rotate(&config, &store).unwrap();
        assert!(sealer.reload(&store).unwrap());
        let first_batch = reencrypt_batch(&sealer, &store, &mut Skipped::default()).unwrap();
        assert_eq!(first_batch, BATCH as usize + 1, "one batch of bodies and the one email");
        drop(sealer); // the process dies here

        let restarted = Sealer::load(&config, &store).unwrap();
        assert_eq!(restarted.active_key(), 2);
        let rest = reencrypt_all(&restarted, &store).unwrap();
        assert_eq!(first_batch + rest, total + 1);
        assert_eq!(store.with_connection(|c| vault_keys::not_under(c, 2)).unwrap().total(), 0);
        let (page, _) = store.with_connection(|c| messages::page(c, &room, messages::Cursor::After(0), 100)).unwrap();
        for message in page {
            assert_eq!(message.body.key_id, 2);
            assert!(restarted.open_body(&message.id, &message.room, &message.body).is_some());
        }
        admin::retire(&config, &store, 1).unwrap();
    }
}
