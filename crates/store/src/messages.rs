//! Messages: appended with a per-room sequence number, read back by sequence cursor, edited
//! (keeping earlier versions sealed) and deleted (leaving a tombstone without text).

use diesel::prelude::*;
use palisade_protocol::{ClientMessageId, MessageId, RoomId, Timestamp, UserId};
use uuid::Uuid;

use crate::connection::write_transaction;
use crate::schema::{message_edits, messages, rooms, users};
use crate::{DbConnection, Sealed, StoreError, ids, now_millis};

/// A message as stored, with its author's current display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: MessageId,
    pub room: RoomId,
    pub seq: u64,
    pub author: UserId,
    pub author_name: String,
    pub client_id: ClientMessageId,
    /// Empty, under key id 0, once deleted.
    pub body: Sealed,
    pub sent_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
}

/// The key id of a deleted message's emptied body; data keys are numbered from 1.
const NO_KEY: i32 = 0;

/// The result of [`append`]: either newly stored, or the earlier copy of a retried send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    New(StoredMessage),
    Duplicate(StoredMessage),
}

impl Appended {
    pub fn message(&self) -> &StoredMessage {
        match self {
            Self::New(m) | Self::Duplicate(m) => m,
        }
    }
}

type MessageRow = (String, String, i64, String, String, String, i32, Vec<u8>, i64, Option<i64>, Option<i64>);

// Column types are unit structs, so the selection can be a constant shared by every query.
const COLUMNS: (
    messages::id,
    messages::room_id,
    messages::seq,
    messages::author_id,
    users::display_name,
    messages::client_id,
    messages::body_key_id,
    messages::body_sealed,
    messages::sent_at,
    messages::edited_at,
    messages::deleted_at,
) = (
    messages::id,
    messages::room_id,
    messages::seq,
    messages::author_id,
    users::display_name,
    messages::client_id,
    messages::body_key_id,
    messages::body_sealed,
    messages::sent_at,
    messages::edited_at,
    messages::deleted_at,
);

fn from_row(
    (id, room, seq, author, author_name, client_id, key_id, bytes, sent_at, edited_at, deleted_at): MessageRow,
) -> Result<StoredMessage, StoreError> {
    let deleted = deleted_at.is_some();
    let key_id = if deleted { 0 } else { ids::key_id_from_db(key_id)? };
    Ok(StoredMessage {
        id: MessageId(ids::parse(&id)?),
        room: RoomId(ids::parse(&room)?),
        seq: ids::seq_from_db(seq)?,
        author: UserId(ids::parse(&author)?),
        author_name,
        client_id: ClientMessageId(ids::parse(&client_id)?),
        body: Sealed { key_id, bytes },
        sent_at: Timestamp(sent_at),
        edited_at: edited_at.map(Timestamp),
        deleted,
    })
}

fn find_by_client_id(
    conn: &mut DbConnection,
    room: &RoomId,
    author: &UserId,
    client_id: &ClientMessageId,
) -> Result<Option<StoredMessage>, StoreError> {
    messages::table
        .inner_join(users::table)
        .filter(messages::room_id.eq(ids::to_text(&room.0)))
        .filter(messages::author_id.eq(ids::to_text(&author.0)))
        .filter(messages::client_id.eq(ids::to_text(&client_id.0)))
        .select(COLUMNS)
        .first::<MessageRow>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

/// A message to store. `id` is chosen by the caller because the sealed body is bound to it.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub id: MessageId,
    pub room: RoomId,
    pub author: UserId,
    pub author_name: &'a str,
    pub client_id: ClientMessageId,
    pub body: &'a Sealed,
}

/// Stores a message at the room's next sequence number, durably, or returns the copy stored
/// by an earlier attempt with the same `client_id`. The caller has checked that the author may
/// post in the room.
pub fn append(conn: &mut DbConnection, new: &NewMessage<'_>) -> Result<Appended, StoreError> {
    let (room, author, client_id) = (&new.room, &new.author, &new.client_id);
    let room_text = ids::to_text(&room.0);
    let attempt = write_transaction(conn, |conn| {
        // The counter bump comes first: on SQLite it takes the write lock before any read (no
        // lock upgrade to deadlock on), on PostgreSQL it row-locks the room for the insert.
        let bumped = diesel::update(rooms::table.find(&room_text))
            .set(rooms::last_seq.eq(rooms::last_seq + 1_i64))
            .execute(conn)?;
        if bumped == 0 {
            return Err(StoreError::NotFound);
        }
        let seq = rooms::table.find(&room_text).select(rooms::last_seq).first::<i64>(conn)?;
        let sent_at = now_millis();
        diesel::insert_into(messages::table)
            .values((
                messages::id.eq(ids::to_text(&new.id.0)),
                messages::room_id.eq(&room_text),
                messages::seq.eq(seq),
                messages::author_id.eq(ids::to_text(&author.0)),
                messages::client_id.eq(ids::to_text(&client_id.0)),
                messages::body_sealed.eq(&new.body.bytes),
                messages::body_key_id.eq(ids::key_id_to_db(new.body.key_id)?),
                messages::sent_at.eq(sent_at),
            ))
            .execute(conn)?;
        Ok(StoredMessage {
            id: new.id,
            room: *room,
            seq: ids::seq_from_db(seq)?,
            author: *author,
            author_name: new.author_name.to_owned(),
            client_id: *client_id,
            body: new.body.clone(),
            sent_at: Timestamp(sent_at),
            edited_at: None,
            deleted: false,
        })
    });
    match attempt {
        Ok(message) => Ok(Appended::New(message)),
        // A retried send: the transaction rolled back (the counter too); return the original.
        Err(StoreError::Query(e)) if StoreError::is_unique_violation(&e) => {
            find_by_client_id(conn, room, author, client_id)?.map(Appended::Duplicate).ok_or(StoreError::Query(e))
        }
        Err(e) => Err(e),
    }
}

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest messages.
    Latest,
    /// Messages with a lower sequence number.
    Before(u64),
    /// Messages with a higher sequence number.
    After(u64),
}

/// Up to `limit` messages of `room` from `cursor`, in ascending sequence order, and whether
/// more exist beyond them in the direction read.
pub fn page(
    conn: &mut DbConnection,
    room: &RoomId,
    cursor: Cursor,
    limit: u32,
) -> Result<(Vec<StoredMessage>, bool), StoreError> {
    let fetch = i64::from(limit) + 1;
    let base = messages::table
        .inner_join(users::table)
        .filter(messages::room_id.eq(ids::to_text(&room.0)))
        .select(COLUMNS)
        .limit(fetch);
    let (rows, newest_first) = match cursor {
        Cursor::Latest => (base.order(messages::seq.desc()).load::<MessageRow>(conn)?, true),
        Cursor::Before(seq) => {
            (base.filter(messages::seq.lt(ids::seq_to_db(seq))).order(messages::seq.desc()).load(conn)?, true)
        }
        Cursor::After(seq) => {
            (base.filter(messages::seq.gt(ids::seq_to_db(seq))).order(messages::seq.asc()).load(conn)?, false)
        }
    };
    let has_more = rows.len() > limit as usize;
    let mut messages = rows.into_iter().take(limit as usize).map(from_row).collect::<Result<Vec<_>, _>>()?;
    if newest_first {
        messages.reverse();
    }
    Ok((messages, has_more))
}

/// A sealed body waiting to be re-sealed under the active key.
#[derive(Debug)]
pub struct SealedBody {
    pub id: MessageId,
    pub room: RoomId,
    pub body: Sealed,
}

/// Up to `limit` bodies sealed under a key other than `active`.
/// Bodies sealed under any key but `active`, in id order after `after`: walking on from the last
/// id seen gets past values that could not be re-sealed instead of fetching them again.
pub fn bodies_not_under(
    conn: &mut DbConnection,
    active: u32,
    after: Option<&MessageId>,
    limit: i64,
) -> Result<Vec<SealedBody>, StoreError> {
    let mut query = messages::table
        .filter(messages::body_key_id.ne(ids::key_id_to_db(active)?))
        .filter(messages::deleted_at.is_null())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(messages::id.gt(ids::to_text(&after.0)));
    }
    query
        .order(messages::id.asc())
        .select((messages::id, messages::room_id, messages::body_key_id, messages::body_sealed))
        .limit(limit)
        .load::<(String, String, i32, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(id, room, key_id, bytes)| {
            Ok(SealedBody {
                id: MessageId(ids::parse(&id)?),
                room: RoomId(ids::parse(&room)?),
                body: Sealed { key_id: ids::key_id_from_db(key_id)?, bytes },
            })
        })
        .collect()
}

/// Swaps in re-sealed bodies `(id, key it was read under, new value)` in one transaction (one
/// commit for the batch, not one per row). Returns how many were replaced.
pub fn replace_bodies(conn: &mut DbConnection, batch: &[(MessageId, u32, Sealed)]) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        batch
            .iter()
            .try_fold(0, |done, (id, old_key, new)| Ok(done + usize::from(replace_body(conn, id, *old_key, new)?)))
    })
}

/// Swaps in a re-sealed body, only if the row is still sealed under `old_key` (so two servers
/// re-encrypting at once cannot undo each other). Returns whether it was replaced.
pub fn replace_body(conn: &mut DbConnection, id: &MessageId, old_key: u32, new: &Sealed) -> Result<bool, StoreError> {
    let updated = diesel::update(
        messages::table.find(ids::to_text(&id.0)).filter(messages::body_key_id.eq(ids::key_id_to_db(old_key)?)),
    )
    .set((messages::body_sealed.eq(&new.bytes), messages::body_key_id.eq(ids::key_id_to_db(new.key_id)?)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The message with this id in `room`, deleted or not.
pub fn find(conn: &mut DbConnection, room: &RoomId, id: &MessageId) -> Result<Option<StoredMessage>, StoreError> {
    messages::table
        .inner_join(users::table)
        .filter(messages::id.eq(ids::to_text(&id.0)))
        .filter(messages::room_id.eq(ids::to_text(&room.0)))
        .select(COLUMNS)
        .first::<MessageRow>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

/// A new text for a message, and its text until now sealed as version `previous_id`.
#[derive(Debug)]
pub struct Edit<'a> {
    pub message: &'a StoredMessage,
    pub body: &'a Sealed,
    pub previous_id: Uuid,
    pub previous: &'a Sealed,
}

/// Replaces the text of `edit.message`, keeping its earlier text as a sealed version, only if
/// the message is still as the caller read it (not edited or deleted since): `None` otherwise.
pub fn edit(conn: &mut DbConnection, edit: &Edit<'_>) -> Result<Option<StoredMessage>, StoreError> {
    let message = edit.message;
    let id_text = ids::to_text(&message.id.0);
    let now = now_millis();
    write_transaction(conn, |conn| {
        // The conditional update comes first, so on SQLite the transaction writes before it
        // reads anything (no lock upgrade to fail on) and two edits cannot both win.
        let key_id = ids::key_id_to_db(edit.body.key_id)?;
        let changes =
            (messages::body_sealed.eq(&edit.body.bytes), messages::body_key_id.eq(key_id), messages::edited_at.eq(now));
        let live = messages::table.filter(messages::id.eq(&id_text)).filter(messages::deleted_at.is_null());
        let updated = match message.edited_at {
            Some(at) => diesel::update(live.filter(messages::edited_at.eq(at.0))).set(changes).execute(conn)?,
            None => diesel::update(live.filter(messages::edited_at.is_null())).set(changes).execute(conn)?,
        };
        if updated == 0 {
            return Ok(None);
        }
        diesel::insert_into(message_edits::table)
            .values((
                message_edits::id.eq(ids::to_text(&edit.previous_id)),
                message_edits::message_id.eq(&id_text),
                message_edits::replaced_at.eq(now),
                message_edits::body_sealed.eq(&edit.previous.bytes),
                message_edits::body_key_id.eq(ids::key_id_to_db(edit.previous.key_id)?),
            ))
            .execute(conn)?;
        Ok(Some(StoredMessage { body: edit.body.clone(), edited_at: Some(Timestamp(now)), ..message.clone() }))
    })
}

/// Deletes the message's text and every earlier version of it, leaving a tombstone in its
/// place. Returns the tombstone, or `None` when it was already deleted.
pub fn delete(
    conn: &mut DbConnection,
    message: &StoredMessage,
    by: &UserId,
) -> Result<Option<StoredMessage>, StoreError> {
    let id_text = ids::to_text(&message.id.0);
    write_transaction(conn, |conn| {
        let deleted = diesel::update(messages::table.find(&id_text).filter(messages::deleted_at.is_null()))
            .set((
                messages::body_sealed.eq(Vec::<u8>::new()),
                messages::body_key_id.eq(NO_KEY),
                messages::deleted_at.eq(now_millis()),
                messages::deleted_by.eq(ids::to_text(&by.0)),
            ))
            .execute(conn)?;
        if deleted == 0 {
            return Ok(None);
        }
        diesel::delete(message_edits::table.filter(message_edits::message_id.eq(&id_text))).execute(conn)?;
        Ok(Some(StoredMessage { body: Sealed { key_id: 0, bytes: Vec::new() }, deleted: true, ..message.clone() }))
    })
}

/// One earlier version of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: Uuid,
    pub message: MessageId,
    /// When this text was replaced by a newer one.
    pub replaced_at: Timestamp,
    pub body: Sealed,
}

/// The earlier versions of a message, oldest first.
pub fn versions(conn: &mut DbConnection, message: &MessageId) -> Result<Vec<Version>, StoreError> {
    message_edits::table
        .filter(message_edits::message_id.eq(ids::to_text(&message.0)))
        .order(message_edits::replaced_at.asc())
        .select((message_edits::id, message_edits::replaced_at, message_edits::body_key_id, message_edits::body_sealed))
        .load::<(String, i64, i32, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(id, replaced_at, key_id, bytes)| {
            Ok(Version {
                id: ids::parse(&id)?,
                message: *message,
                replaced_at: Timestamp(replaced_at),
                body: Sealed { key_id: ids::key_id_from_db(key_id)?, bytes },
            })
        })
        .collect()
}

/// Earlier versions sealed under any key but `active`, in id order after `after` (see
/// [`bodies_not_under`]).
pub fn versions_not_under(
    conn: &mut DbConnection,
    active: u32,
    after: Option<&Uuid>,
    limit: i64,
) -> Result<Vec<Version>, StoreError> {
    let mut query = message_edits::table.filter(message_edits::body_key_id.ne(ids::key_id_to_db(active)?)).into_boxed();
    if let Some(after) = after {
        query = query.filter(message_edits::id.gt(ids::to_text(after)));
    }
    query
        .order(message_edits::id.asc())
        .select((
            message_edits::id,
            message_edits::message_id,
            message_edits::replaced_at,
            message_edits::body_key_id,
            message_edits::body_sealed,
        ))
        .limit(limit)
        .load::<(String, String, i64, i32, Vec<u8>)>(conn)?
        .into_iter()
        .map(|(id, message, replaced_at, key_id, bytes)| {
            Ok(Version {
                id: ids::parse(&id)?,
                message: MessageId(ids::parse(&message)?),
                replaced_at: Timestamp(replaced_at),
                body: Sealed { key_id: ids::key_id_from_db(key_id)?, bytes },
            })
        })
        .collect()
}

/// Swaps in re-sealed versions `(id, key it was read under, new value)` in one transaction;
/// returns how many were replaced (see [`replace_body`] for why the old key is checked).
pub fn replace_versions(conn: &mut DbConnection, batch: &[(Uuid, u32, Sealed)]) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        batch.iter().try_fold(0, |done, (id, old_key, new)| {
            let updated = diesel::update(
                message_edits::table
                    .find(ids::to_text(id))
                    .filter(message_edits::body_key_id.eq(ids::key_id_to_db(*old_key)?)),
            )
            .set((
                message_edits::body_sealed.eq(&new.bytes),
                message_edits::body_key_id.eq(ids::key_id_to_db(new.key_id)?),
            ))
            .execute(conn)?;
            Ok(done + updated)
        })
    })
}
