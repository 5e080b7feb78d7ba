//! Sessions and their rotating refresh tokens. Lifetimes are the caller's policy; this module
//! applies them atomically.

use diesel::prelude::*;
use palisade_protocol::{SessionId, UserId};

use crate::connection::write_transaction;
use crate::schema::{refresh_tokens, sessions, users};
use crate::{DbConnection, StoreError, ids};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user: UserId,
    pub site_id: uuid::Uuid,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub device: String,
    pub ip: Option<String>,
    /// The session may only set up a second factor (see `mfa::enrolment_due`).
    pub mfa_pending: bool,
}

/// A session to create, with the hash of its first refresh token.
#[derive(Debug)]
pub struct NewSession<'a> {
    pub id: SessionId,
    pub user: UserId,
    pub now: i64,
    pub expires_at: i64,
    pub device: &'a str,
    pub ip: Option<&'a str>,
    pub token_hash: &'a str,
    pub mfa_pending: bool,
}

pub fn create(conn: &mut DbConnection, new: &NewSession<'_>) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(ids::to_text(&new.id.0)),
                sessions::user_id.eq(ids::to_text(&new.user.0)),
                sessions::created_at.eq(new.now),
                sessions::last_used_at.eq(new.now),
                sessions::expires_at.eq(new.expires_at),
                sessions::device.eq(new.device),
                sessions::ip.eq(new.ip),
                sessions::mfa_pending.eq(new.mfa_pending),
            ))
            .execute(conn)?;
        insert_token(conn, &new.id, new.token_hash, new.now)
    })
}

fn insert_token(conn: &mut DbConnection, session: &SessionId, hash: &str, now: i64) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(ids::to_text(&session.0)),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

type SessionRow = (String, String, String, i64, i64, i64, String, Option<String>, bool);

fn session_columns() -> (
    sessions::id,
    sessions::user_id,
    users::site_id,
    sessions::created_at,
    sessions::last_used_at,
    sessions::expires_at,
    sessions::device,
    sessions::ip,
    sessions::mfa_pending,
) {
    (
        sessions::id,
        sessions::user_id,
        users::site_id,
        sessions::created_at,
        sessions::last_used_at,
        sessions::expires_at,
        sessions::device,
        sessions::ip,
        sessions::mfa_pending,
    )
}

fn from_row(row: SessionRow) -> Result<Session, StoreError> {
    let (id, user, site, created_at, last_used_at, expires_at, device, ip, mfa_pending) = row;
    Ok(Session {
        id: SessionId(ids::parse(&id)?),
        user: UserId(ids::parse(&user)?),
        site_id: ids::parse(&site)?,
        created_at,
        last_used_at,
        expires_at,
        device,
        ip,
        mfa_pending,
    })
}

/// Lifts the set-up-first restriction from every session of `user` (a second factor is on).
pub fn clear_mfa_pending(conn: &mut DbConnection, user: &UserId) -> Result<(), StoreError> {
    diesel::update(sessions::table.filter(sessions::user_id.eq(ids::to_text(&user.0))))
        .set(sessions::mfa_pending.eq(false))
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used, `new_hash` replaces it, and the session was used.
    Rotated(Session),
    /// The token was already used once: someone holds a copy. The session is now revoked.
    Reused(Session),
    /// No such token, or its session is revoked or past a lifetime.
    Refused,
}

/// Lifetimes a refresh must respect, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle_ms: i64,
    /// How long after its use a token may be presented once more, as long as the token that
    /// replaced it has not been used: the answer to the first refresh may have been lost on the
    /// way (a dropped mobile connection), leaving the browser with the old cookie.
    pub reuse_grace_ms: i64,
}

/// Rotates the refresh token whose hash is `presented`, atomically: of two requests racing with
/// the same token, one rotates and the other counts as reuse.
///
/// The transaction writes first (claiming the token) so that on SQLite it holds the write lock
/// from its first statement; a transaction that reads first cannot upgrade while another
/// connection writes, and fails instead of waiting.
pub fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    new_hash: &str,
    now: i64,
    lifetimes: Lifetimes,
) -> Result<Rotation, StoreError> {
    write_transaction(conn, |conn| {
        let claimed = diesel::update(refresh_tokens::table.find(presented))
            .filter(refresh_tokens::used_at.is_null())
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
        let found = refresh_tokens::table
            .inner_join(sessions::table.inner_join(users::table))
            .filter(refresh_tokens::token_hash.eq(presented))
            .select((sessions::revoked_at, session_columns()))
            .first::<(Option<i64>, SessionRow)>(conn)
            .optional()?;
        let Some((revoked_at, row)) = found else { return Ok(Rotation::Refused) };
        let session = from_row(row)?;
        if revoked_at.is_some() {
            return Ok(Rotation::Refused);
        }
        if claimed == 0 && !lost_answer(conn, presented, &session.id, now, lifetimes.reuse_grace_ms)? {
            revoke(conn, &session.user, &session.id, now, "refresh_token_reuse")?;
            return Ok(Rotation::Reused(session));
        }
        if now >= session.expires_at || now - session.last_used_at > lifetimes.idle_ms {
            return Ok(Rotation::Refused);
        }
        insert_token(conn, &session.id, new_hash, now)?;
        diesel::update(sessions::table.find(ids::to_text(&session.id.0)))
            .set(sessions::last_used_at.eq(now))
            .execute(conn)?;
        Ok(Rotation::Rotated(Session { last_used_at: now, ..session }))
    })
}

/// Whether presenting the already-used token `presented` looks like a client that never got
/// the answer to its refresh: used within the grace period, and nothing issued since then used.
/// If so, the unused successor is retired, so that only the chain continued now stays alive;
/// whoever holds the retired one (a thief who got there first, or the client) is caught as
/// reuse at its next refresh.
fn lost_answer(
    conn: &mut DbConnection,
    presented: &str,
    session: &SessionId,
    now: i64,
    grace_ms: i64,
) -> Result<bool, StoreError> {
    let (used_at, retired) = refresh_tokens::table
        .find(presented)
        .select((refresh_tokens::used_at, refresh_tokens::retired))
        .first::<(Option<i64>, bool)>(conn)?;
    let used_at = used_at.unwrap_or(i64::MIN);
    if retired || now.saturating_sub(used_at) > grace_ms {
        return Ok(false);
    }
    let session = ids::to_text(&session.0);
    let moved_on = refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(&session))
        .filter(refresh_tokens::used_at.gt(used_at))
        .filter(refresh_tokens::retired.eq(false))
        .count()
        .get_result::<i64>(conn)?;
    if moved_on > 0 {
        return Ok(false);
    }
    diesel::update(refresh_tokens::table.filter(refresh_tokens::session_id.eq(&session)))
        .filter(refresh_tokens::used_at.is_null())
        .set((refresh_tokens::used_at.eq(now), refresh_tokens::retired.eq(true)))
        .execute(conn)?;
    Ok(true)
}

/// The session a refresh token (current or used) belongs to, and its owner.
pub fn of_token(conn: &mut DbConnection, hash: &str) -> Result<Option<(SessionId, UserId)>, StoreError> {
    refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((sessions::id, sessions::user_id))
        .first::<(String, String)>(conn)
        .optional()?
        .map(|(id, user)| Ok((SessionId(ids::parse(&id)?), UserId(ids::parse(&user)?))))
        .transpose()
}

/// The session if it is neither revoked nor past its absolute expiry, and its account is not
/// disabled.
pub fn find_live(conn: &mut DbConnection, id: &SessionId, now: i64) -> Result<Option<Session>, StoreError> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(ids::to_text(&id.0)))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(users::disabled_at.is_null())
        .select(session_columns())
        .first::<SessionRow>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

/// The person's sessions that can still be used, most recently used first.
pub fn list_live(conn: &mut DbConnection, user: &UserId, now: i64, idle_ms: i64) -> Result<Vec<Session>, StoreError> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::user_id.eq(ids::to_text(&user.0)))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_used_at.gt(now - idle_ms))
        .order(sessions::last_used_at.desc())
        .select(session_columns())
        .load::<SessionRow>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// Ends one of `user`'s sessions. Returns whether it was live until now.
pub fn revoke(
    conn: &mut DbConnection,
    user: &UserId,
    id: &SessionId,
    now: i64,
    reason: &str,
) -> Result<bool, StoreError> {
    let ended = diesel::update(sessions::table)
        .filter(sessions::id.eq(ids::to_text(&id.0)))
        .filter(sessions::user_id.eq(ids::to_text(&user.0)))
        .filter(sessions::revoked_at.is_null())
        .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
        .execute(conn)?;
    Ok(ended > 0)
}

/// Ends every session of `user` except `keep`. Returns how many ended.
pub fn revoke_all(
    conn: &mut DbConnection,
    user: &UserId,
    keep: Option<&SessionId>,
    now: i64,
    reason: &str,
) -> Result<usize, StoreError> {
    let keep = keep.map(|k| ids::to_text(&k.0)).unwrap_or_default();
    Ok(diesel::update(sessions::table)
        .filter(sessions::user_id.eq(ids::to_text(&user.0)))
        .filter(sessions::id.ne(keep))
        .filter(sessions::revoked_at.is_null())
        .set((sessions::revoked_at.eq(now), sessions::revoked_reason.eq(reason)))
        .execute(conn)?)
}

/// Deletes sessions (and their tokens) that ended or expired before `before`: kept until then
/// so that late reuse of their tokens is still recognised.
pub fn prune(conn: &mut DbConnection, before: i64) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let dead = || {
            sessions::table
                .filter(sessions::expires_at.lt(before).or(sessions::revoked_at.lt(before)))
                .select(sessions::id)
        };
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(dead()))).execute(conn)?;
        Ok(diesel::delete(sessions::table.filter(sessions::expires_at.lt(before).or(sessions::revoked_at.lt(before))))
            .execute(conn)?)
    })
}
