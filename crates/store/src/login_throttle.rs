//! Persisted sign-in failure counts, keyed by site, email blind index and a scope (a client
//! network, or the whole account). The policy (how long each count blocks) is the caller's;
//! this module only counts, atomically, so concurrent failures on several instances are all
//! counted.

use diesel::prelude::*;

use crate::connection::write_transaction;
use crate::schema::login_throttle;
use crate::{DbConnection, StoreError, ids};

/// The counts after a failure was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub consecutive: u32,
    pub window_failures: u32,
    pub window_start: i64,
}

/// Which counter: the email on one site, in one scope.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub site: &'a uuid::Uuid,
    pub email_index: &'a str,
    pub scope: &'a str,
}

/// The `email_index` of a key that stands for every email: a blind index is never `*`.
pub const ANY_EMAIL: &str = "*";

/// Until when sign-in with this email is refused (Unix ms), if it is blocked at all.
pub fn blocked_until(conn: &mut DbConnection, key: Key<'_>) -> Result<Option<i64>, StoreError> {
    Ok(login_throttle::table
        .find((ids::to_text(key.site), key.email_index, key.scope))
        .select(login_throttle::blocked_until)
        .first::<i64>(conn)
        .optional()?)
}

/// Counts a failure and stores the block `policy` derives from the new counts. A window older
/// than `window_ms` starts afresh.
pub fn record_failure(
    conn: &mut DbConnection,
    key: Key<'_>,
    now: i64,
    window_ms: i64,
    policy: impl Fn(&Counts) -> i64,
) -> Result<(Counts, i64), StoreError> {
    let site = ids::to_text(key.site);
    write_transaction(conn, |conn| {
        let this = || {
            login_throttle::table
                .filter(login_throttle::site_id.eq(site.clone()))
                .filter(login_throttle::email_index.eq(key.email_index))
                .filter(login_throttle::scope.eq(key.scope))
        };
        // The UPDATE comes first so that, on PostgreSQL, it takes the row lock that serialises
        // concurrent failures; only a first failure inserts.
        let bumped = diesel::update(this())
            .set((
                login_throttle::consecutive.eq(login_throttle::consecutive + 1),
                login_throttle::window_failures.eq(login_throttle::window_failures + 1),
            ))
            .execute(conn)?;
        if bumped == 0 {
            // In a savepoint: on PostgreSQL a failed statement would otherwise doom the transaction.
            let inserted = write_transaction(conn, |conn| {
                diesel::insert_into(login_throttle::table)
                    .values((
                        login_throttle::site_id.eq(&site),
                        login_throttle::email_index.eq(key.email_index),
                        login_throttle::scope.eq(key.scope),
                        login_throttle::consecutive.eq(1),
                        login_throttle::blocked_until.eq(0_i64),
                        login_throttle::window_start.eq(now),
                        login_throttle::window_failures.eq(1),
                    ))
                    .execute(conn)
            });
            match inserted {
                Ok(_) => {}
                // Another instance inserted the first failure meanwhile: count on top of it.
                Err(e) if StoreError::is_unique_violation(&e) => {
                    diesel::update(this())
                        .set((
                            login_throttle::consecutive.eq(login_throttle::consecutive + 1),
                            login_throttle::window_failures.eq(login_throttle::window_failures + 1),
                        ))
                        .execute(conn)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        diesel::update(this().filter(login_throttle::window_start.le(now - window_ms)))
            .set((login_throttle::window_start.eq(now), login_throttle::window_failures.eq(1)))
            .execute(conn)?;
        let (consecutive, window_failures, window_start) = this()
            .select((login_throttle::consecutive, login_throttle::window_failures, login_throttle::window_start))
            .first::<(i32, i32, i64)>(conn)?;
        let counts = Counts {
            consecutive: consecutive.unsigned_abs(),
            window_failures: window_failures.unsigned_abs(),
            window_start,
        };
        let until = policy(&counts);
        diesel::update(this()).set(login_throttle::blocked_until.eq(until)).execute(conn)?;
        Ok((counts, until))
    })
}

/// How many different emails have failures counted in `scope` on the site in windows that
/// started at `since` or later.
pub fn emails_failing(conn: &mut DbConnection, site: &uuid::Uuid, scope: &str, since: i64) -> Result<u32, StoreError> {
    let count: i64 = login_throttle::table
        .filter(login_throttle::site_id.eq(ids::to_text(site)))
        .filter(login_throttle::scope.eq(scope))
        .filter(login_throttle::email_index.ne(ANY_EMAIL))
        .filter(login_throttle::window_start.ge(since))
        .filter(login_throttle::window_failures.gt(0))
        .count()
        .get_result(conn)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// Blocks `key` until `until`, unless it is blocked past `now` already; whether this blocked it.
pub fn block(conn: &mut DbConnection, key: Key<'_>, now: i64, until: i64) -> Result<bool, StoreError> {
    let site = ids::to_text(key.site);
    let this = || login_throttle::table.find((site.clone(), key.email_index, key.scope));
    let renewed = diesel::update(this().filter(login_throttle::blocked_until.le(now)))
        .set(login_throttle::blocked_until.eq(until))
        .execute(conn)?;
    if renewed == 1 {
        return Ok(true);
    }
    let inserted = diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::site_id.eq(&site),
            login_throttle::email_index.eq(key.email_index),
            login_throttle::scope.eq(key.scope),
            login_throttle::consecutive.eq(0),
            login_throttle::blocked_until.eq(until),
            login_throttle::window_start.eq(now),
            login_throttle::window_failures.eq(0),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        // Blocked already, here or by another instance a moment ago.
        Err(e) if StoreError::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A successful sign-in ends the back-off of its scope; hourly counts stay.
pub fn record_success(conn: &mut DbConnection, key: Key<'_>) -> Result<(), StoreError> {
    diesel::update(login_throttle::table.find((ids::to_text(key.site), key.email_index, key.scope)))
        .set((login_throttle::consecutive.eq(0), login_throttle::blocked_until.eq(0_i64)))
        .execute(conn)?;
    Ok(())
}

/// Forgets counts whose block and window are both over.
pub fn prune(conn: &mut DbConnection, now: i64, window_ms: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        login_throttle::table
            .filter(login_throttle::blocked_until.lt(now))
            .filter(login_throttle::window_start.lt(now - window_ms)),
    )
    .execute(conn)?)
}
