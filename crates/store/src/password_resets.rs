//! Password-reset tokens: created for an account, redeemed once, within their lifetime.

use diesel::prelude::*;
use palisade_protocol::UserId;

use crate::connection::write_transaction;
use crate::schema::password_resets;
use crate::{DbConnection, StoreError, ids};

pub fn create(conn: &mut DbConnection, token_hash: &str, user: &UserId, expires_at: i64) -> Result<(), StoreError> {
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::token_hash.eq(token_hash),
            password_resets::user_id.eq(ids::to_text(&user.0)),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets the new password hash through `token`, if it is unused and unexpired, and ends every
/// session of the account; the token and any other outstanding one of the account are spent.
/// Returns whose password it was, or `None` for a dead token. Atomic: the write comes first, so
/// of two requests with one token, one wins.
pub fn redeem(
    conn: &mut DbConnection,
    token_hash: &str,
    new_password_hash: &str,
    now: i64,
) -> Result<Option<UserId>, StoreError> {
    write_transaction(conn, |conn| {
        let claimed = diesel::update(
            password_resets::table
                .find(token_hash)
                .filter(password_resets::used_at.is_null())
                .filter(password_resets::expires_at.gt(now)),
        )
        .set(password_resets::used_at.eq(now))
        .execute(conn)?;
        if claimed == 0 {
            return Ok(None);
        }
        let user = password_resets::table.find(token_hash).select(password_resets::user_id).first::<String>(conn)?;
        let user = UserId(ids::parse(&user)?);
        diesel::update(password_resets::table.filter(password_resets::user_id.eq(ids::to_text(&user.0))))
            .filter(password_resets::used_at.is_null())
            .set(password_resets::used_at.eq(now))
            .execute(conn)?;
        crate::users::set_password_hash(conn, &user, new_password_hash)?;
        crate::sessions::revoke_all(conn, &user, None, now, "password_reset")?;
        Ok(Some(user))
    })
}

pub fn prune(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(password_resets::table.filter(password_resets::expires_at.le(now))).execute(conn)?)
}
