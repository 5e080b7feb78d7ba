//! Wrapped data-encryption keys and which stored values use each.

use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::connection::write_transaction;
use crate::schema::{message_edits, messages, mfa_totp, sign_ups, users, vault_keys};
use crate::{DbConnection, StoreError, ids, now_millis};

/// A data key as persisted: only ever wrapped by the key-encryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: u32,
    /// `active`, `decrypt_only` or `retired` (the vault owns the vocabulary).
    pub state: String,
    pub wrapped: Vec<u8>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey").field("id", &self.id).field("state", &self.state).finish_non_exhaustive()
    }
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<StoredKey>, StoreError> {
    vault_keys::table
        .select((vault_keys::id, vault_keys::state, vault_keys::wrapped))
        .order(vault_keys::id.asc())
        .load::<(i32, String, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(id, state, wrapped)| Ok(StoredKey { id: ids::key_id_from_db(id)?, state, wrapped }))
        .collect()
}

pub fn insert(conn: &mut DbConnection, key: &StoredKey) -> Result<(), StoreError> {
    diesel::insert_into(vault_keys::table)
        .values((
            vault_keys::id.eq(ids::key_id_to_db(key.id)?),
            vault_keys::state.eq(&key.state),
            vault_keys::wrapped.eq(&key.wrapped),
            vault_keys::created_at.eq(now_millis()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_state(conn: &mut DbConnection, id: u32, state: &str) -> Result<(), StoreError> {
    let updated = diesel::update(vault_keys::table.find(ids::key_id_to_db(id)?))
        .set(vault_keys::state.eq(state))
        .execute(conn)?;
    if updated == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Stores a new active key and demotes the previous one, atomically: there is never a moment
/// with two active keys or none.
pub fn rotate(conn: &mut DbConnection, new: &StoredKey, demoted: u32, demoted_state: &str) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        set_state(conn, demoted, demoted_state)?;
        insert(conn, new)
    })
}

/// Replaces the wrapped bytes of every key (after wrapping them under a new KEK), atomically.
pub fn replace_wrapped(conn: &mut DbConnection, keys: &[StoredKey]) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        for key in keys {
            let updated = diesel::update(vault_keys::table.find(ids::key_id_to_db(key.id)?))
                .set(vault_keys::wrapped.eq(&key.wrapped))
                .execute(conn)?;
            if updated == 0 {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    })
}

pub fn next_id(conn: &mut DbConnection) -> Result<u32, StoreError> {
    let highest = vault_keys::table.select(diesel::dsl::max(vault_keys::id)).first::<Option<i32>>(conn)?;
    ids::key_id_from_db(highest.unwrap_or(0)).map(|id| id + 1)
}

/// How many stored values are sealed under each key id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub messages: u64,
    /// Earlier versions of edited messages.
    pub message_versions: u64,
    pub users: u64,
    pub totp_secrets: u64,
    /// Emails of sign-ups not yet confirmed. They are not re-encrypted: they expire within a
    /// day, which is all a key being retired has to wait for them.
    pub sign_ups: u64,
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages, {} earlier message versions, {} emails, {} TOTP secrets, {} pending sign-ups",
            self.messages, self.message_versions, self.users, self.totp_secrets, self.sign_ups
        )
    }
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.messages + self.message_versions + self.users + self.totp_secrets + self.sign_ups
    }
}

pub fn usage(conn: &mut DbConnection, id: u32) -> Result<Usage, StoreError> {
    let id = ids::key_id_to_db(id)?;
    let messages = messages::table.filter(messages::body_key_id.eq(id)).select(count_star()).first::<i64>(conn)?;
    let versions =
        message_edits::table.filter(message_edits::body_key_id.eq(id)).select(count_star()).first::<i64>(conn)?;
    let users = users::table.filter(users::email_key_id.eq(id)).select(count_star()).first::<i64>(conn)?;
    let totp = mfa_totp::table.filter(mfa_totp::secret_key_id.eq(id)).select(count_star()).first::<i64>(conn)?;
    let sign_ups = sign_ups::table.filter(sign_ups::email_key_id.eq(id)).select(count_star()).first::<i64>(conn)?;
    Ok(Usage {
        messages: messages.unsigned_abs(),
        message_versions: versions.unsigned_abs(),
        users: users.unsigned_abs(),
        totp_secrets: totp.unsigned_abs(),
        sign_ups: sign_ups.unsigned_abs(),
    })
}

/// How many stored values are sealed under any key but `active`: what re-encryption has left
/// (pending sign-ups are left to expire instead).
pub fn not_under(conn: &mut DbConnection, active: u32) -> Result<Usage, StoreError> {
    let active = ids::key_id_to_db(active)?;
    let messages = messages::table
        .filter(messages::body_key_id.ne(active))
        .filter(messages::deleted_at.is_null())
        .select(count_star())
        .first::<i64>(conn)?;
    let versions =
        message_edits::table.filter(message_edits::body_key_id.ne(active)).select(count_star()).first::<i64>(conn)?;
    let users = users::table.filter(users::email_key_id.ne(active)).select(count_star()).first::<i64>(conn)?;
    let totp = mfa_totp::table.filter(mfa_totp::secret_key_id.ne(active)).select(count_star()).first::<i64>(conn)?;
    Ok(Usage {
        messages: messages.unsigned_abs(),
        message_versions: versions.unsigned_abs(),
        users: users.unsigned_abs(),
        totp_secrets: totp.unsigned_abs(),
        sign_ups: 0,
    })
}

/// Whether no user exists yet: a missing blind-index key may then be created, not restored.
pub fn no_users(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(users::table.select(count_star()).first::<i64>(conn)? == 0)
}
