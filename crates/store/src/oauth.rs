//! Sign-in through OAuth/OpenID providers: the identities that key such accounts, the
//! transactions of popups in progress, and the one-time codes that hand a finished sign-in to
//! the widget. Transactions and codes are taken (read and deleted) in one step, so each works
//! once even when two requests race.

use diesel::prelude::*;
use palisade_protocol::UserId;
use uuid::Uuid;

use crate::connection::write_transaction;
use crate::schema::{
    oauth_identities, oauth_link_intents, oauth_login_codes, oauth_transactions, users as users_table,
};
use crate::users::{self, NewUser, User};
use crate::{DbConnection, StoreError, ids, now_millis};

/// A popup's sign-in in progress, as stored under the hash of its `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub binding_hash: String,
    pub site_id: Uuid,
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The page origin the result will be posted to (already checked against the site).
    pub origin: String,
    /// The widget's S256 challenge, carried on to the login code.
    pub code_challenge: String,
    /// Set when a signed-in person is linking this provider rather than signing in.
    pub link_user: Option<UserId>,
    pub expires_at: i64,
}

pub fn create_transaction(conn: &mut DbConnection, state_hash: &str, t: &Transaction) -> Result<(), StoreError> {
    diesel::insert_into(oauth_transactions::table)
        .values((
            oauth_transactions::state_hash.eq(state_hash),
            oauth_transactions::binding_hash.eq(&t.binding_hash),
            oauth_transactions::site_id.eq(ids::to_text(&t.site_id)),
            oauth_transactions::provider.eq(&t.provider),
            oauth_transactions::nonce.eq(&t.nonce),
            oauth_transactions::pkce_verifier.eq(&t.pkce_verifier),
            oauth_transactions::origin.eq(&t.origin),
            oauth_transactions::code_challenge.eq(&t.code_challenge),
            oauth_transactions::link_user_id.eq(t.link_user.map(|u| ids::to_text(&u.0))),
            oauth_transactions::expires_at.eq(t.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

type TransactionRow = (String, String, String, String, String, String, String, Option<String>, i64);

/// Removes the transaction and returns it, expired or not (the caller tells the person which):
/// a state is spent by its first use whatever the outcome.
pub fn take_transaction(conn: &mut DbConnection, state_hash: &str) -> Result<Option<Transaction>, StoreError> {
    write_transaction(conn, |conn| {
        let row: Option<TransactionRow> = oauth_transactions::table
            .find(state_hash)
            .select((
                oauth_transactions::binding_hash,
                oauth_transactions::site_id,
                oauth_transactions::provider,
                oauth_transactions::nonce,
                oauth_transactions::pkce_verifier,
                oauth_transactions::origin,
                oauth_transactions::code_challenge,
                oauth_transactions::link_user_id,
                oauth_transactions::expires_at,
            ))
            .first(conn)
            .optional()?;
        let Some((
            binding_hash,
            site_id,
            provider,
            nonce,
            pkce_verifier,
            origin,
            code_challenge,
            link_user,
            expires_at,
        )) = row
        else {
            return Ok(None);
        };
        if diesel::delete(oauth_transactions::table.find(state_hash)).execute(conn)? != 1 {
            return Ok(None);
        }
        Ok(Some(Transaction {
            binding_hash,
            site_id: ids::parse(&site_id)?,
            provider,
            nonce,
            pkce_verifier,
            origin,
            code_challenge,
            link_user: link_user.map(|u| ids::parse(&u).map(UserId)).transpose()?,
            expires_at,
        }))
    })
}

/// The account a provider's subject signs into on this site, noting the use.
pub fn find_identity(
    conn: &mut DbConnection,
    site_id: &Uuid,
    provider: &str,
    subject: &str,
) -> Result<Option<UserId>, StoreError> {
    let found = oauth_identities::table
        .filter(oauth_identities::site_id.eq(ids::to_text(site_id)))
        .filter(oauth_identities::provider.eq(provider))
        .filter(oauth_identities::subject.eq(subject))
        .select((oauth_identities::id, oauth_identities::user_id))
        .first::<(String, String)>(conn)
        .optional()?;
    let Some((id, user)) = found else { return Ok(None) };
    diesel::update(oauth_identities::table.find(id))
        .set(oauth_identities::last_used_at.eq(now_millis()))
        .execute(conn)?;
    Ok(Some(UserId(ids::parse(&user)?)))
}

/// Creates the account and its identity together: either both exist afterwards or neither.
/// A subject that got an account meanwhile (two popups racing) is a [`StoreError::Conflict`].
pub fn create_account(
    conn: &mut DbConnection,
    new: &NewUser<'_>,
    provider: &str,
    subject: &str,
) -> Result<User, StoreError> {
    write_transaction(conn, |conn| {
        let user = users::create(conn, new)?;
        let now = now_millis();
        let inserted = diesel::insert_into(oauth_identities::table)
            .values((
                oauth_identities::id.eq(ids::to_text(&ids::new_id())),
                oauth_identities::site_id.eq(ids::to_text(&new.site_id)),
                oauth_identities::user_id.eq(ids::to_text(&user.id.0)),
                oauth_identities::provider.eq(provider),
                oauth_identities::subject.eq(subject),
                oauth_identities::created_at.eq(now),
                oauth_identities::last_used_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                Err(StoreError::Conflict("this provider account already has an account here".into()))
            }
            other => other.map(|_| user).map_err(StoreError::from),
        }
    })
}

/// A finished sign-in waiting for the widget to redeem it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCode {
    pub user: UserId,
    pub provider: String,
    pub code_challenge: String,
    pub expires_at: i64,
}

pub fn create_login_code(
    conn: &mut DbConnection,
    code_hash: &str,
    site_id: &Uuid,
    code: &LoginCode,
) -> Result<(), StoreError> {
    diesel::insert_into(oauth_login_codes::table)
        .values((
            oauth_login_codes::code_hash.eq(code_hash),
            oauth_login_codes::site_id.eq(ids::to_text(site_id)),
            oauth_login_codes::user_id.eq(ids::to_text(&code.user.0)),
            oauth_login_codes::provider.eq(&code.provider),
            oauth_login_codes::code_challenge.eq(&code.code_challenge),
            oauth_login_codes::expires_at.eq(code.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes the site's code and returns it, expired or not: the first try spends it.
pub fn take_login_code(
    conn: &mut DbConnection,
    code_hash: &str,
    site_id: &Uuid,
) -> Result<Option<LoginCode>, StoreError> {
    write_transaction(conn, |conn| {
        let row: Option<(String, String, String, i64)> = oauth_login_codes::table
            .find(code_hash)
            .filter(oauth_login_codes::site_id.eq(ids::to_text(site_id)))
            .select((
                oauth_login_codes::user_id,
                oauth_login_codes::provider,
                oauth_login_codes::code_challenge,
                oauth_login_codes::expires_at,
            ))
            .first(conn)
            .optional()?;
        let Some((user, provider, code_challenge, expires_at)) = row else { return Ok(None) };
        if diesel::delete(oauth_login_codes::table.find(code_hash)).execute(conn)? != 1 {
            return Ok(None);
        }
        Ok(Some(LoginCode { user: UserId(ids::parse(&user)?), provider, code_challenge, expires_at }))
    })
}

/// Deletes expired transactions and codes (housekeeping).
pub fn prune(conn: &mut DbConnection, now: i64) -> Result<usize, StoreError> {
    let transactions =
        diesel::delete(oauth_transactions::table.filter(oauth_transactions::expires_at.le(now))).execute(conn)?;
    let codes = diesel::delete(oauth_login_codes::table.filter(oauth_login_codes::expires_at.le(now))).execute(conn)?;
    let intents =
        diesel::delete(oauth_link_intents::table.filter(oauth_link_intents::expires_at.le(now))).execute(conn)?;
    Ok(transactions + codes + intents)
}

/// The public id of a site, for a transaction that only knows the internal one.
pub fn site_public_id(
    conn: &mut DbConnection,
    site_id: &Uuid,
) -> Result<Option<palisade_protocol::SitePublicId>, StoreError> {
    let found: Option<String> = crate::schema::sites::table
        .find(ids::to_text(site_id))
        .select(crate::schema::sites::public_id)
        .first(conn)
        .optional()?;
    found.map(|p| p.parse().map_err(|_| StoreError::Corrupt(format!("bad site public id {p:?}")))).transpose()
}

/// A signed-in person's wish to link a provider, as the popup's start redeems it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkIntent {
    pub site_id: Uuid,
    pub user: UserId,
    pub provider: String,
    pub expires_at: i64,
}

pub fn create_link_intent(conn: &mut DbConnection, ticket_hash: &str, intent: &LinkIntent) -> Result<(), StoreError> {
    diesel::insert_into(oauth_link_intents::table)
        .values((
            oauth_link_intents::ticket_hash.eq(ticket_hash),
            oauth_link_intents::site_id.eq(ids::to_text(&intent.site_id)),
            oauth_link_intents::user_id.eq(ids::to_text(&intent.user.0)),
            oauth_link_intents::provider.eq(&intent.provider),
            oauth_link_intents::expires_at.eq(intent.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes the intent and returns it, expired or not.
pub fn take_link_intent(conn: &mut DbConnection, ticket_hash: &str) -> Result<Option<LinkIntent>, StoreError> {
    write_transaction(conn, |conn| {
        let row: Option<(String, String, String, i64)> = oauth_link_intents::table
            .find(ticket_hash)
            .select((
                oauth_link_intents::site_id,
                oauth_link_intents::user_id,
                oauth_link_intents::provider,
                oauth_link_intents::expires_at,
            ))
            .first(conn)
            .optional()?;
        let Some((site_id, user, provider, expires_at)) = row else { return Ok(None) };
        if diesel::delete(oauth_link_intents::table.find(ticket_hash)).execute(conn)? != 1 {
            return Ok(None);
        }
        Ok(Some(LinkIntent { site_id: ids::parse(&site_id)?, user: UserId(ids::parse(&user)?), provider, expires_at }))
    })
}

/// What linking a provider subject to an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Added,
    /// It was linked to this account already.
    AlreadyYours,
    /// Another account signs in with it; nothing changed (accounts are never merged).
    TakenByAnother,
}

pub fn link_identity(
    conn: &mut DbConnection,
    site_id: &Uuid,
    user: &UserId,
    provider: &str,
    subject: &str,
) -> Result<Linked, StoreError> {
    write_transaction(conn, |conn| {
        if let Some(owner) = find_identity(conn, site_id, provider, subject)? {
            return Ok(if owner == *user { Linked::AlreadyYours } else { Linked::TakenByAnother });
        }
        let now = now_millis();
        let inserted = diesel::insert_into(oauth_identities::table)
            .values((
                oauth_identities::id.eq(ids::to_text(&ids::new_id())),
                oauth_identities::site_id.eq(ids::to_text(site_id)),
                oauth_identities::user_id.eq(ids::to_text(&user.0)),
                oauth_identities::provider.eq(provider),
                oauth_identities::subject.eq(subject),
                oauth_identities::created_at.eq(now),
                oauth_identities::last_used_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => Ok(Linked::TakenByAnother),
            other => other.map(|_| Linked::Added).map_err(StoreError::from),
        }
    })
}

/// Accounts created by a provider sign-in get this blind-index prefix instead of an email's:
/// they have no password anyone knows, and no email that finds them.
pub const PROVIDER_ONLY_EMAIL_INDEX_PREFIX: &str = "oauth:";

/// Unlinks `provider` from the account, unless it is the account's last way to sign in (an
/// account made by a provider has no password). `Ok(false)`: it was not linked.
pub fn unlink_identity(conn: &mut DbConnection, user: &UserId, provider: &str) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let user_text = ids::to_text(&user.0);
        let linked: i64 =
            oauth_identities::table.filter(oauth_identities::user_id.eq(&user_text)).count().get_result(conn)?;
        let email_index: String = users_table::table.find(&user_text).select(users_table::email_index).first(conn)?;
        let has_password = !email_index.starts_with(PROVIDER_ONLY_EMAIL_INDEX_PREFIX);
        let removed = diesel::delete(
            oauth_identities::table
                .filter(oauth_identities::user_id.eq(&user_text))
                .filter(oauth_identities::provider.eq(provider)),
        )
        .execute(conn)?;
        if removed > 0 && !has_password && linked <= i64::try_from(removed).unwrap_or(i64::MAX) {
            // Rolls the delete back: the account would be left with no way in.
            return Err(StoreError::Conflict("this is the account's only way to sign in".into()));
        }
        Ok(removed > 0)
    })
}

/// The providers linked to an account and since when (Unix ms), oldest first.
pub fn identities_of(conn: &mut DbConnection, user: &UserId) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(oauth_identities::table
        .filter(oauth_identities::user_id.eq(ids::to_text(&user.0)))
        .order(oauth_identities::created_at.asc())
        .select((oauth_identities::provider, oauth_identities::created_at))
        .load(conn)?)
}
