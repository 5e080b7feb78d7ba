//! People's accounts, one set per site.

use diesel::prelude::*;
use palisade_protocol::UserId;
use uuid::Uuid;

use crate::schema::users;
use crate::{DbConnection, StoreError, ids, now_millis};

/// An account as the rest of the server sees it. The password hash is only handed out by
/// [`find_credentials`], to the sign-in path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub site_id: Uuid,
    pub display_name: String,
}

/// What sign-in needs to check a password.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

/// Emails compare case-insensitively and without surrounding white space, so `Ada@X.org` and
/// `ada@x.org ` are one account.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn create(
    conn: &mut DbConnection,
    site_id: &Uuid,
    email: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<User, StoreError> {
    let id = ids::new_id();
    let inserted = diesel::insert_into(users::table)
        .values((
            users::id.eq(ids::to_text(&id)),
            users::site_id.eq(ids::to_text(site_id)),
            users::email.eq(normalize_email(email)),
            users::display_name.eq(display_name),
            users::password_hash.eq(password_hash),
            users::created_at.eq(now_millis()),
        ))
        .execute(conn);
    match inserted {
        Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::EmailTaken),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(User { id: UserId(id), site_id: *site_id, display_name: display_name.to_owned() }),
    }
}

pub fn find_credentials(
    conn: &mut DbConnection,
    site_id: &Uuid,
    email: &str,
) -> Result<Option<Credentials>, StoreError> {
    let row = users::table
        .filter(users::site_id.eq(ids::to_text(site_id)))
        .filter(users::email.eq(normalize_email(email)))
        .select((users::id, users::display_name, users::password_hash))
        .first::<(String, String, String)>(conn)
        .optional()?;
    row.map(|(id, display_name, password_hash)| {
        Ok(Credentials { user: User { id: UserId(ids::parse(&id)?), site_id: *site_id, display_name }, password_hash })
    })
    .transpose()
}

/// Replaces a stored hash, for upgrading to new hashing parameters at sign-in.
pub fn set_password_hash(conn: &mut DbConnection, user: &UserId, password_hash: &str) -> Result<(), StoreError> {
    diesel::update(users::table.find(ids::to_text(&user.0)))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)?;
    Ok(())
}

/// The user, if it exists within this site.
pub fn find(conn: &mut DbConnection, site_id: &Uuid, user: &UserId) -> Result<Option<User>, StoreError> {
    let display_name = users::table
        .filter(users::id.eq(ids::to_text(&user.0)))
        .filter(users::site_id.eq(ids::to_text(site_id)))
        .select(users::display_name)
        .first::<String>(conn)
        .optional()?;
    Ok(display_name.map(|display_name| User { id: *user, site_id: *site_id, display_name }))
}
