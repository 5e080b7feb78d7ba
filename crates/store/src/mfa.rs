//! Second factors: the TOTP authenticator (secret sealed by the vault), recovery-code hashes,
//! and the short-lived challenges of a sign-in that still owes its second factor.

use diesel::dsl::count_star;
use diesel::prelude::*;
use palisade_protocol::UserId;

use crate::connection::write_transaction;
use crate::schema::{mfa_challenges, mfa_totp, recovery_codes};
use crate::{DbConnection, Sealed, StoreError, ids, now_millis};

/// A person's authenticator as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTotp {
    pub secret: Sealed,
    pub enabled: bool,
    pub last_step: i64,
}

fn user_text(user: &UserId) -> String {
    ids::to_text(&user.0)
}

/// Stores a new, not yet confirmed secret, replacing an unconfirmed one. Refuses (with
/// [`StoreError::Conflict`]) while a confirmed authenticator exists: that one must be
/// disabled first, with re-authentication.
pub fn put_pending_totp(conn: &mut DbConnection, user: &UserId, secret: &Sealed) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(mfa_totp::table.find(user_text(user)).filter(mfa_totp::enabled.eq(false))).execute(conn)?;
        let inserted = diesel::insert_into(mfa_totp::table)
            .values((
                mfa_totp::user_id.eq(user_text(user)),
                mfa_totp::secret_sealed.eq(&secret.bytes),
                mfa_totp::secret_key_id.eq(ids::key_id_to_db(secret.key_id)?),
                mfa_totp::created_at.eq(now_millis()),
            ))
            .execute(conn);
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                Err(StoreError::Conflict("an authenticator is already enabled".into()))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    })
}

pub fn totp_of(conn: &mut DbConnection, user: &UserId) -> Result<Option<StoredTotp>, StoreError> {
    mfa_totp::table
        .find(user_text(user))
        .select((mfa_totp::secret_key_id, mfa_totp::secret_sealed, mfa_totp::enabled, mfa_totp::last_step))
        .first::<(i32, Vec<u8>, bool, i64)>(conn)
        .optional()?
        .map(|(key_id, bytes, enabled, last_step)| {
            Ok(StoredTotp { secret: Sealed { key_id: ids::key_id_from_db(key_id)?, bytes }, enabled, last_step })
        })
        .transpose()
}

/// Whether `user` has a confirmed authenticator.
pub fn is_enabled(conn: &mut DbConnection, user: &UserId) -> Result<bool, StoreError> {
    Ok(totp_of(conn, user)?.is_some_and(|t| t.enabled))
}

/// Confirms the pending authenticator with the step its first code matched, and stores the
/// recovery codes, atomically. Returns false when there was nothing pending to confirm.
pub fn enable_totp(
    conn: &mut DbConnection,
    user: &UserId,
    step: i64,
    code_hashes: &[String],
) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let confirmed = diesel::update(mfa_totp::table.find(user_text(user)).filter(mfa_totp::enabled.eq(false)))
            .set((mfa_totp::enabled.eq(true), mfa_totp::last_step.eq(step)))
            .execute(conn)?;
        if confirmed == 0 {
            return Ok(false);
        }
        replace_recovery_codes(conn, user, code_hashes)?;
        Ok(true)
    })
}

/// Records `step` as used, if it is newer than every step used before: the replay defence.
/// Returns false for a step already used (or older).
pub fn claim_step(conn: &mut DbConnection, user: &UserId, step: i64) -> Result<bool, StoreError> {
    let claimed = diesel::update(
        mfa_totp::table.find(user_text(user)).filter(mfa_totp::enabled.eq(true)).filter(mfa_totp::last_step.lt(step)),
    )
    .set(mfa_totp::last_step.eq(step))
    .execute(conn)?;
    Ok(claimed == 1)
}

/// Removes the authenticator and the recovery codes.
pub fn disable(conn: &mut DbConnection, user: &UserId) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let removed = diesel::delete(mfa_totp::table.find(user_text(user))).execute(conn)?;
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_text(user)))).execute(conn)?;
        Ok(removed > 0)
    })
}

pub fn replace_recovery_codes(conn: &mut DbConnection, user: &UserId, hashes: &[String]) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_text(user)))).execute(conn)?;
        for hash in hashes {
            diesel::insert_into(recovery_codes::table)
                .values((recovery_codes::user_id.eq(user_text(user)), recovery_codes::code_hash.eq(hash)))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Spends a recovery code. Returns false when it is not one of the person's unused codes.
pub fn use_recovery_code(conn: &mut DbConnection, user: &UserId, hash: &str) -> Result<bool, StoreError> {
    let used =
        diesel::update(recovery_codes::table.find((user_text(user), hash)).filter(recovery_codes::used_at.is_null()))
            .set(recovery_codes::used_at.eq(now_millis()))
            .execute(conn)?;
    Ok(used == 1)
}

pub fn recovery_codes_left(conn: &mut DbConnection, user: &UserId) -> Result<u64, StoreError> {
    let left = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_text(user)))
        .filter(recovery_codes::used_at.is_null())
        .select(count_star())
        .first::<i64>(conn)?;
    Ok(left.unsigned_abs())
}

pub fn create_challenge(
    conn: &mut DbConnection,
    ticket_hash: &str,
    user: &UserId,
    expires_at: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(mfa_challenges::table)
        .values((
            mfa_challenges::ticket_hash.eq(ticket_hash),
            mfa_challenges::user_id.eq(user_text(user)),
            mfa_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Counts an attempt on a live challenge and returns whose it is; `None` when the ticket is
/// unknown, expired, or out of attempts.
pub fn attempt_challenge(
    conn: &mut DbConnection,
    ticket_hash: &str,
    now: i64,
    max_attempts: i32,
) -> Result<Option<UserId>, StoreError> {
    write_transaction(conn, |conn| {
        let counted = diesel::update(
            mfa_challenges::table
                .find(ticket_hash)
                .filter(mfa_challenges::expires_at.gt(now))
                .filter(mfa_challenges::attempts.lt(max_attempts)),
        )
        .set(mfa_challenges::attempts.eq(mfa_challenges::attempts + 1))
        .execute(conn)?;
        if counted == 0 {
            return Ok(None);
        }
        let user = mfa_challenges::table.find(ticket_hash).select(mfa_challenges::user_id).first::<String>(conn)?;
        Ok(Some(UserId(ids::parse(&user)?)))
    })
}

/// Ends a challenge (it succeeded); a ticket is good for one sign-in only.
pub fn consume_challenge(conn: &mut DbConnection, ticket_hash: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(mfa_challenges::table.find(ticket_hash)).execute(conn)? == 1)
}

pub fn prune_challenges(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(mfa_challenges::table.filter(mfa_challenges::expires_at.le(now))).execute(conn)?)
}

/// A sealed TOTP secret for re-encryption.
#[derive(Debug, Clone)]
pub struct SealedSecret {
    pub user: UserId,
    pub secret: Sealed,
}

/// Secrets sealed under any key but `active`, in user-id order after `after`.
pub fn secrets_not_under(
    conn: &mut DbConnection,
    active: u32,
    after: Option<&UserId>,
    limit: i64,
) -> Result<Vec<SealedSecret>, StoreError> {
    let mut query = mfa_totp::table.filter(mfa_totp::secret_key_id.ne(ids::key_id_to_db(active)?)).into_boxed();
    if let Some(after) = after {
        query = query.filter(mfa_totp::user_id.gt(user_text(after)));
    }
    query
        .order(mfa_totp::user_id.asc())
        .select((mfa_totp::user_id, mfa_totp::secret_key_id, mfa_totp::secret_sealed))
        .limit(limit)
        .load::<(String, i32, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(user, key_id, bytes)| {
            Ok(SealedSecret {
                user: UserId(ids::parse(&user)?),
                secret: Sealed { key_id: ids::key_id_from_db(key_id)?, bytes },
            })
        })
        .collect()
}

/// Swaps in re-sealed secrets `(user, key it was read under, new value)` in one transaction;
/// a secret replaced meanwhile (re-enrolment) is left alone. Returns how many were replaced.
pub fn replace_secrets(conn: &mut DbConnection, batch: &[(UserId, u32, Sealed)]) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let mut replaced = 0;
        for (user, old_key, new) in batch {
            replaced += diesel::update(
                mfa_totp::table.find(user_text(user)).filter(mfa_totp::secret_key_id.eq(ids::key_id_to_db(*old_key)?)),
            )
            .set((mfa_totp::secret_sealed.eq(&new.bytes), mfa_totp::secret_key_id.eq(ids::key_id_to_db(new.key_id)?)))
            .execute(conn)?;
        }
        Ok(replaced)
    })
}

/// Whether the site's policy requires a second factor of `user`'s role and none is on yet.
pub fn enrolment_due(conn: &mut DbConnection, user: &UserId, site_id: &uuid::Uuid) -> Result<bool, StoreError> {
    let role = crate::users::role_of(conn, user)?;
    Ok(crate::sites::mfa_required_roles(conn, site_id)?.contains(&role) && !is_enabled(conn, user)?)
}
