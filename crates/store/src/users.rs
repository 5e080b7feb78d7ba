//! People's accounts, one set per site. Emails are stored sealed and found by blind index.

use diesel::prelude::*;
use palisade_protocol::UserId;
use uuid::Uuid;

use crate::connection::write_transaction;
use crate::schema::users;
use crate::{DbConnection, Sealed, StoreError, ids, now_millis};

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
    /// Disabled by an operator: the password may be right, but sign-in is refused.
    pub disabled: bool,
    /// The blind index of the email, which the sign-in throttle is keyed by.
    pub email_index: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

/// A new account. `id` is chosen by the caller because the sealed email is bound to it.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub site_id: Uuid,
    /// The blind index of the normalized email: unique per site.
    pub email_index: &'a str,
    pub email: &'a Sealed,
    pub display_name: &'a str,
    pub password_hash: &'a str,
}

/// Creates the account, in the site's default channel from the start.
pub fn create(conn: &mut DbConnection, new: &NewUser<'_>) -> Result<User, StoreError> {
    write_transaction(conn, |conn| {
        let inserted = diesel::insert_into(users::table)
            .values((
                users::id.eq(ids::to_text(&new.id.0)),
                users::site_id.eq(ids::to_text(&new.site_id)),
                users::email_index.eq(new.email_index),
                users::email_sealed.eq(&new.email.bytes),
                users::email_key_id.eq(ids::key_id_to_db(new.email.key_id)?),
                users::display_name.eq(new.display_name),
                users::password_hash.eq(new.password_hash),
                users::created_at.eq(now_millis()),
            ))
            .execute(conn);
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => return Err(StoreError::EmailTaken),
            other => other?,
        };
        let general = crate::rooms::default_of(conn, &new.site_id)?;
        crate::members::join(conn, &general.id, &new.id)?;
        Ok(User { id: new.id, site_id: new.site_id, display_name: new.display_name.to_owned() })
    })
}

pub fn find_credentials(
    conn: &mut DbConnection,
    site_id: &Uuid,
    email_index: &str,
) -> Result<Option<Credentials>, StoreError> {
    users::table
        .filter(users::site_id.eq(ids::to_text(site_id)))
        .filter(users::email_index.eq(email_index))
        .select(credential_columns())
        .first::<CredentialRow>(conn)
        .optional()?
        .map(|row| credentials_from(row, site_id))
        .transpose()
}

type CredentialRow = (String, String, String, String, Option<i64>);

fn credential_columns() -> (users::id, users::display_name, users::password_hash, users::email_index, users::disabled_at)
{
    (users::id, users::display_name, users::password_hash, users::email_index, users::disabled_at)
}

/// The credentials of a signed-in person, for changing the password.
pub fn credentials_of(
    conn: &mut DbConnection,
    site_id: &Uuid,
    user: &UserId,
) -> Result<Option<Credentials>, StoreError> {
    users::table
        .filter(users::site_id.eq(ids::to_text(site_id)))
        .filter(users::id.eq(ids::to_text(&user.0)))
        .select(credential_columns())
        .first::<CredentialRow>(conn)
        .optional()?
        .map(|row| credentials_from(row, site_id))
        .transpose()
}

fn credentials_from(row: CredentialRow, site_id: &Uuid) -> Result<Credentials, StoreError> {
    let (id, display_name, password_hash, email_index, disabled_at) = row;
    Ok(Credentials {
        user: User { id: UserId(ids::parse(&id)?), site_id: *site_id, display_name },
        password_hash,
        disabled: disabled_at.is_some(),
        email_index,
    })
}

/// Disables (ending every session at once) or re-enables the account with this email on the
/// site. Returns the account, or `None` when the email has none.
pub fn set_disabled(
    conn: &mut DbConnection,
    site_id: &Uuid,
    email_index: &str,
    disabled: bool,
    now: i64,
) -> Result<Option<UserId>, StoreError> {
    write_transaction(conn, |conn| {
        let Some(credentials) = find_credentials(conn, site_id, email_index)? else { return Ok(None) };
        let user = credentials.user.id;
        diesel::update(users::table.find(ids::to_text(&user.0)))
            .set(users::disabled_at.eq(disabled.then_some(now)))
            .execute(conn)?;
        if disabled {
            crate::sessions::revoke_all(conn, &user, None, now, "account_disabled")?;
        }
        Ok(Some(user))
    })
}

/// Sets a new password and ends every session but `keep`, atomically: a password changed
/// because it leaked must not leave the intruder's session running. Returns how many ended.
pub fn change_password(
    conn: &mut DbConnection,
    user: &UserId,
    password_hash: &str,
    keep: &palisade_protocol::SessionId,
    now: i64,
) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        set_password_hash(conn, user, password_hash)?;
        crate::sessions::revoke_all(conn, user, Some(keep), now, "password_change")
    })
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

/// A sealed email waiting to be re-sealed under the active key.
#[derive(Debug)]
pub struct SealedEmail {
    pub user: UserId,
    pub site_id: Uuid,
    pub email: Sealed,
}

/// Up to `limit` emails sealed under a key other than `active`.
/// Emails sealed under any key but `active`, in id order after `after` (see
/// `messages::bodies_not_under`).
pub fn emails_not_under(
    conn: &mut DbConnection,
    active: u32,
    after: Option<&UserId>,
    limit: i64,
) -> Result<Vec<SealedEmail>, StoreError> {
    let mut query = users::table.filter(users::email_key_id.ne(ids::key_id_to_db(active)?)).into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(ids::to_text(&after.0)));
    }
    query
        .order(users::id.asc())
        .select((users::id, users::site_id, users::email_key_id, users::email_sealed))
        .limit(limit)
        .load::<(String, String, i32, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(id, site, key_id, bytes)| {
            Ok(SealedEmail {
                user: UserId(ids::parse(&id)?),
                site_id: ids::parse(&site)?,
                email: Sealed { key_id: ids::key_id_from_db(key_id)?, bytes },
            })
        })
        .collect()
}

/// Swaps in re-sealed emails `(user, key it was read under, new value)` in one transaction.
/// Returns how many were replaced.
pub fn replace_emails(conn: &mut DbConnection, batch: &[(UserId, u32, Sealed)]) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        batch
            .iter()
            .try_fold(0, |done, (user, old_key, new)| Ok(done + usize::from(replace_email(conn, user, *old_key, new)?)))
    })
}

/// Swaps in a re-sealed email, only if the row still holds the value that was read (so two
/// servers re-encrypting at once cannot undo each other). Returns whether it was replaced.
pub fn replace_email(conn: &mut DbConnection, user: &UserId, old_key: u32, new: &Sealed) -> Result<bool, StoreError> {
    let updated = diesel::update(
        users::table.find(ids::to_text(&user.0)).filter(users::email_key_id.eq(ids::key_id_to_db(old_key)?)),
    )
    .set((users::email_sealed.eq(&new.bytes), users::email_key_id.eq(ids::key_id_to_db(new.key_id)?)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Gives the account with this email on the site a role. Returns the account, or `None` when
/// the email has none.
pub fn set_role(
    conn: &mut DbConnection,
    site_id: &Uuid,
    email_index: &str,
    role: palisade_protocol::roles::Role,
) -> Result<Option<UserId>, StoreError> {
    let Some(credentials) = find_credentials(conn, site_id, email_index)? else { return Ok(None) };
    set_role_of(conn, site_id, &credentials.user.id, role)?;
    Ok(Some(credentials.user.id))
}

/// Gives the account a role, if it is on the site; whether it is.
pub fn set_role_of(
    conn: &mut DbConnection,
    site_id: &Uuid,
    user: &UserId,
    role: palisade_protocol::roles::Role,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        users::table.filter(users::id.eq(ids::to_text(&user.0))).filter(users::site_id.eq(ids::to_text(site_id))),
    )
    .set(users::role.eq(role.as_str()))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn role_of(conn: &mut DbConnection, user: &UserId) -> Result<palisade_protocol::roles::Role, StoreError> {
    let text = users::table.find(ids::to_text(&user.0)).select(users::role).first::<String>(conn)?;
    role_from_db(&text)
}

/// The role of the account, if it exists within this site.
pub fn role_in_site(
    conn: &mut DbConnection,
    site_id: &Uuid,
    user: &UserId,
) -> Result<Option<palisade_protocol::roles::Role>, StoreError> {
    users::table
        .filter(users::id.eq(ids::to_text(&user.0)))
        .filter(users::site_id.eq(ids::to_text(site_id)))
        .select(users::role)
        .first::<String>(conn)
        .optional()?
        .map(|text| role_from_db(&text))
        .transpose()
}

pub(crate) fn role_from_db(text: &str) -> Result<palisade_protocol::roles::Role, StoreError> {
    text.parse().map_err(|e: palisade_protocol::roles::UnknownRole| StoreError::Corrupt(e.to_string()))
}
