//! Who is in a room, how far each has read, and who is banned from it.

use diesel::prelude::*;
use palisade_protocol::roles::Role;
use palisade_protocol::{RoomId, UserId};

use crate::connection::write_transaction;
use crate::schema::{room_members, rooms, users};
use crate::{DbConnection, StoreError, ids, now_millis};

/// A person's row in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// Banned: not in the room, and cannot come back until unbanned.
    pub banned: bool,
    pub read_seq: u64,
}

impl Membership {
    pub(crate) fn from_db((banned, read_seq): (bool, i64)) -> Result<Self, StoreError> {
        Ok(Self { banned, read_seq: ids::seq_from_db(read_seq)? })
    }

    /// In the room, as opposed to banned from it.
    pub fn is_member(&self) -> bool {
        !self.banned
    }
}

fn row(room: &RoomId, user: &UserId) -> (String, String) {
    (ids::to_text(&room.0), ids::to_text(&user.0))
}

pub fn membership(conn: &mut DbConnection, room: &RoomId, user: &UserId) -> Result<Option<Membership>, StoreError> {
    let (room, user) = row(room, user);
    room_members::table
        .find((room, user))
        .select((room_members::banned, room_members::read_seq))
        .first::<(bool, i64)>(conn)
        .optional()?
        .map(Membership::from_db)
        .transpose()
}

/// Puts `user` in the room having read up to `read_seq`, unless they already have a row there
/// (in it, or banned from it: a ban is not lifted by joining). Returns whether a row was added.
pub fn add(conn: &mut DbConnection, room: &RoomId, user: &UserId, read_seq: u64) -> Result<bool, StoreError> {
    let (room, user) = row(room, user);
    // In a savepoint: on PostgreSQL a failed statement would otherwise doom the transaction.
    let inserted = write_transaction(conn, |conn| {
        diesel::insert_into(room_members::table)
            .values((
                room_members::room_id.eq(&room),
                room_members::user_id.eq(&user),
                room_members::banned.eq(false),
                room_members::read_seq.eq(ids::seq_to_db(read_seq)),
                room_members::joined_at.eq(now_millis()),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if StoreError::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Puts `user` in the room with everything already in it counted as read: someone joining a
/// room does not owe it its whole history. Not one transaction, on purpose: a SQLite
/// transaction that reads before it writes can fail on the lock upgrade when another writer is
/// busy, and the worst a message arriving in between can do is count as unread.
pub fn join(conn: &mut DbConnection, room: &RoomId, user: &UserId) -> Result<bool, StoreError> {
    let last_seq = last_seq_of(conn, room)?;
    add(conn, room, user, last_seq)
}

fn last_seq_of(conn: &mut DbConnection, room: &RoomId) -> Result<u64, StoreError> {
    ids::seq_from_db(rooms::table.find(ids::to_text(&room.0)).select(rooms::last_seq).first::<i64>(conn)?)
}

/// Takes `user` out of the room (not a ban: their row goes, so they may join a channel again).
/// Returns whether they were in it.
pub fn remove(conn: &mut DbConnection, room: &RoomId, user: &UserId) -> Result<bool, StoreError> {
    let (room, user) = row(room, user);
    let removed =
        diesel::delete(room_members::table.find((room, user)).filter(room_members::banned.eq(false))).execute(conn)?;
    Ok(removed == 1)
}

/// Bans `user` from the room, whether or not they are in it.
pub fn ban(conn: &mut DbConnection, room: &RoomId, user: &UserId) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        add(conn, room, user, 0)?;
        let (room, user) = row(room, user);
        diesel::update(room_members::table.find((room, user))).set(room_members::banned.eq(true)).execute(conn)?;
        Ok(())
    })
}

/// Lifts a ban; the person is then out of the room, free to join or be invited again. Returns
/// whether there was a ban.
pub fn unban(conn: &mut DbConnection, room: &RoomId, user: &UserId) -> Result<bool, StoreError> {
    let (room, user) = row(room, user);
    let lifted =
        diesel::delete(room_members::table.find((room, user)).filter(room_members::banned.eq(true))).execute(conn)?;
    Ok(lifted == 1)
}

/// Moves the read marker of `user` up to `seq` (never back, never past the room's last
/// message), adding them to the room first if they have no row. Returns the marker as stored;
/// `None` when they are banned. Each step is safe alone (see [`join`] for why there is no
/// transaction): the marker only ever moves forward, by a conditional update.
pub fn mark_read(conn: &mut DbConnection, room: &RoomId, user: &UserId, seq: u64) -> Result<Option<u64>, StoreError> {
    let seq = ids::seq_to_db(seq.min(last_seq_of(conn, room)?));
    add(conn, room, user, 0)?;
    let (room_text, user_text) = row(room, user);
    diesel::update(
        room_members::table
            .find((&room_text, &user_text))
            .filter(room_members::banned.eq(false))
            .filter(room_members::read_seq.lt(seq)),
    )
    .set(room_members::read_seq.eq(seq))
    .execute(conn)?;
    Ok(membership(conn, room, user)?.filter(Membership::is_member).map(|m| m.read_seq))
}

/// One person in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: UserId,
    pub display_name: String,
    pub role: Role,
    pub read_seq: u64,
}

/// The people in the room (not those banned from it), by name.
pub fn list(conn: &mut DbConnection, room: &RoomId) -> Result<Vec<Member>, StoreError> {
    room_members::table
        .inner_join(users::table)
        .filter(room_members::room_id.eq(ids::to_text(&room.0)))
        .filter(room_members::banned.eq(false))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name, users::role, room_members::read_seq))
        .load::<(String, String, String, i64)>(conn)?
        .into_iter()
        .map(|(id, display_name, role, read_seq)| {
            Ok(Member {
                user: UserId(ids::parse(&id)?),
                display_name,
                role: crate::users::role_from_db(&role)?,
                read_seq: ids::seq_from_db(read_seq)?,
            })
        })
        .collect()
}
