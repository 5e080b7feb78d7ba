//! Sign-ups waiting for their email to be confirmed: a link's token (stored hashed) and the
//! sealed email the account will have. The account itself is created only by [`complete`].

use diesel::prelude::*;
use palisade_protocol::UserId;
use palisade_protocol::sites::SignUpMode;
use uuid::Uuid;

use crate::connection::write_transaction;
use crate::schema::{sign_ups, sites};
use crate::users::{self, NewUser, User};
use crate::{DbConnection, Sealed, StoreError, ids};

/// A sign-up link that was mailed.
#[derive(Debug)]
pub struct NewSignUp<'a> {
    pub token_hash: &'a str,
    pub site_id: Uuid,
    /// The id the account will get; the sealed email is bound to it.
    pub user_id: UserId,
    pub email_index: &'a str,
    pub email: &'a Sealed,
    pub expires_at: i64,
    /// Sent by an operator rather than asked for: it still works on an invite-only site.
    pub invited: bool,
}

/// A live sign-up, as its link finds it.
#[derive(Debug)]
pub struct SignUp {
    pub user_id: UserId,
    pub email_index: String,
    pub email: Sealed,
    pub invited: bool,
}

pub fn create(conn: &mut DbConnection, new: &NewSignUp<'_>) -> Result<(), StoreError> {
    diesel::insert_into(sign_ups::table)
        .values((
            sign_ups::token_hash.eq(new.token_hash),
            sign_ups::site_id.eq(ids::to_text(&new.site_id)),
            sign_ups::user_id.eq(ids::to_text(&new.user_id.0)),
            sign_ups::email_index.eq(new.email_index),
            sign_ups::email_sealed.eq(&new.email.bytes),
            sign_ups::email_key_id.eq(ids::key_id_to_db(new.email.key_id)?),
            sign_ups::expires_at.eq(new.expires_at),
            sign_ups::invited.eq(new.invited),
        ))
        .execute(conn)?;
    Ok(())
}

/// The unexpired sign-up of this site that `token_hash` belongs to.
pub fn find_live(
    conn: &mut DbConnection,
    site_id: &Uuid,
    token_hash: &str,
    now: i64,
) -> Result<Option<SignUp>, StoreError> {
    sign_ups::table
        .find(token_hash)
        .filter(sign_ups::site_id.eq(ids::to_text(site_id)))
        .filter(sign_ups::expires_at.gt(now))
        .select((
            sign_ups::user_id,
            sign_ups::email_index,
            sign_ups::email_key_id,
            sign_ups::email_sealed,
            sign_ups::invited,
        ))
        .first::<(String, String, i32, Vec<u8>, bool)>(conn)
        .optional()?
        .map(|(user, email_index, key_id, bytes, invited)| {
            Ok(SignUp {
                user_id: UserId(ids::parse(&user)?),
                email_index,
                email: Sealed { key_id: ids::key_id_from_db(key_id)?, bytes },
                invited,
            })
        })
        .transpose()
}

/// Creates the account of the sign-up `token_hash`, if its link is still live, and spends every
/// link mailed for that email on the site. `None` when the link is dead, when the email got an
/// account meanwhile (through another of its links), or when the link was asked for and the
/// site takes invited people only by now: the link is then no use either way.
/// Atomic: of two requests with one token, one wins; a switch to invite-only wins over both.
pub fn complete(
    conn: &mut DbConnection,
    token_hash: &str,
    new: &NewUser<'_>,
    now: i64,
) -> Result<Option<User>, StoreError> {
    write_transaction(conn, |conn| {
        let claimed = diesel::delete(
            sign_ups::table
                .find(token_hash)
                .filter(sign_ups::site_id.eq(ids::to_text(&new.site_id)))
                .filter(sign_ups::user_id.eq(ids::to_text(&new.id.0)))
                .filter(sign_ups::expires_at.gt(now))
                .filter(
                    sign_ups::invited.or(sign_ups::site_id
                        .eq_any(sites::table.filter(sites::sign_up.eq(SignUpMode::Open.as_str())).select(sites::id))),
                ),
        )
        .execute(conn)?;
        if claimed == 0 {
            return Ok(None);
        }
        diesel::delete(
            sign_ups::table
                .filter(sign_ups::site_id.eq(ids::to_text(&new.site_id)))
                .filter(sign_ups::email_index.eq(new.email_index)),
        )
        .execute(conn)?;
        // In a savepoint: on PostgreSQL a failed statement would otherwise doom the transaction.
        match write_transaction(conn, |conn| users::create(conn, new)) {
            Ok(user) => Ok(Some(user)),
            Err(StoreError::EmailTaken) => Ok(None),
            Err(other) => Err(other),
        }
    })
}

pub fn prune(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(sign_ups::table.filter(sign_ups::expires_at.le(now))).execute(conn)?)
}
