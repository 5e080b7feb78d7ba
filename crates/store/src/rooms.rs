//! Rooms within a site: channels, private rooms, direct and support conversations.

use diesel::prelude::*;
use palisade_protocol::rooms::RoomKind;
use palisade_protocol::{RoomId, UserId};
use uuid::Uuid;

use crate::connection::write_transaction;
use crate::members::{self, Membership};
use crate::schema::{room_members, rooms, users};
use crate::{DbConnection, StoreError, ids, now_millis};

pub const DEFAULT_ROOM_NAME: &str = "General";
pub const SUPPORT_ROOM_NAME: &str = "Support";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    pub site_id: Uuid,
    pub name: String,
    pub kind: RoomKind,
    pub last_seq: u64,
    /// For a support room, the person who asked for help.
    pub created_by: Option<UserId>,
}

fn kind_from_db(kind: &str) -> Result<RoomKind, StoreError> {
    RoomKind::ALL
        .into_iter()
        .find(|known| known.as_str() == kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown room kind {kind:?}")))
}

type RoomRow = (String, String, String, i64, Option<String>);

const COLUMNS: (rooms::id, rooms::name, rooms::kind, rooms::last_seq, rooms::created_by) =
    (rooms::id, rooms::name, rooms::kind, rooms::last_seq, rooms::created_by);

fn from_row(site_id: &Uuid, (id, name, kind, last_seq, created_by): RoomRow) -> Result<Room, StoreError> {
    Ok(Room {
        id: RoomId(ids::parse(&id)?),
        site_id: *site_id,
        name,
        kind: kind_from_db(&kind)?,
        last_seq: ids::seq_from_db(last_seq)?,
        created_by: created_by.as_deref().map(ids::parse).transpose()?.map(UserId),
    })
}

fn insert(
    conn: &mut DbConnection,
    site_id: &Uuid,
    kind: RoomKind,
    name: &str,
    created_by: Option<&UserId>,
    direct_key: Option<&str>,
    is_default: bool,
) -> Result<Room, StoreError> {
    let id = ids::new_id();
    diesel::insert_into(rooms::table)
        .values((
            rooms::id.eq(ids::to_text(&id)),
            rooms::site_id.eq(ids::to_text(site_id)),
            rooms::name.eq(name),
            rooms::kind.eq(kind.as_str()),
            rooms::is_default.eq(is_default),
            rooms::last_seq.eq(0_i64),
            rooms::created_at.eq(now_millis()),
            rooms::created_by.eq(created_by.map(|u| ids::to_text(&u.0))),
            rooms::direct_key.eq(direct_key),
        ))
        .execute(conn)?;
    Ok(Room {
        id: RoomId(id),
        site_id: *site_id,
        name: name.to_owned(),
        kind,
        last_seq: 0,
        created_by: created_by.copied(),
    })
}

/// Every site starts with one channel everybody on it is in.
pub(crate) fn create_default(conn: &mut DbConnection, site_id: &Uuid) -> Result<RoomId, StoreError> {
    insert(conn, site_id, RoomKind::Channel, DEFAULT_ROOM_NAME, None, None, true).map(|room| room.id)
}

/// The site's default channel, which every new account joins.
pub fn default_of(conn: &mut DbConnection, site_id: &Uuid) -> Result<Room, StoreError> {
    rooms::table
        .filter(rooms::site_id.eq(ids::to_text(site_id)))
        .filter(rooms::is_default.eq(true))
        .select(COLUMNS)
        .first::<RoomRow>(conn)
        .map_err(StoreError::from)
        .and_then(|row| from_row(site_id, row))
}

/// Creates a channel, a private room or a support conversation with `creator` in it. The caller
/// has checked that the creator may.
pub fn create(
    conn: &mut DbConnection,
    site_id: &Uuid,
    kind: RoomKind,
    name: &str,
    creator: &UserId,
) -> Result<Room, StoreError> {
    if kind == RoomKind::Direct {
        return Err(StoreError::Conflict("direct rooms are started with find_or_create_direct".into()));
    }
    let created_by = (kind == RoomKind::Support).then_some(creator);
    write_transaction(conn, |conn| {
        let room = insert(conn, site_id, kind, name, created_by, None, false)?;
        members::add(conn, &room.id, creator, 0)?;
        Ok(room)
    })
}

/// The direct room of two people on the site, created with both in it the first time; the
/// boolean says whether it was created now. Starting it from both sides at once still makes one.
pub fn find_or_create_direct(
    conn: &mut DbConnection,
    site_id: &Uuid,
    one: &UserId,
    other: &UserId,
) -> Result<(Room, bool), StoreError> {
    let (low, high) = if one.0 <= other.0 { (one, other) } else { (other, one) };
    let key = format!("{}:{}", low.0, high.0);
    let find = |conn: &mut DbConnection| {
        rooms::table
            .filter(rooms::site_id.eq(ids::to_text(site_id)))
            .filter(rooms::direct_key.eq(&key))
            .select(COLUMNS)
            .first::<RoomRow>(conn)
            .optional()?
            .map(|row| from_row(site_id, row))
            .transpose()
    };
    if let Some(room) = find(conn)? {
        return Ok((room, false));
    }
    let created = write_transaction(conn, |conn| {
        let room = insert(conn, site_id, RoomKind::Direct, "", None, Some(&key), false)?;
        members::add(conn, &room.id, low, 0)?;
        members::add(conn, &room.id, high, 0)?;
        Ok(room)
    });
    match created {
        Ok(room) => Ok((room, true)),
        // The other person started it in the same instant; theirs is the room.
        Err(StoreError::Query(e)) if StoreError::is_unique_violation(&e) => {
            find(conn)?.map(|room| (room, false)).ok_or(StoreError::Query(e))
        }
        Err(e) => Err(e),
    }
}

/// The room, only if it belongs to `site_id`: a room id from another site is "not found".
pub fn find_in_site(conn: &mut DbConnection, site_id: &Uuid, room: &RoomId) -> Result<Option<Room>, StoreError> {
    rooms::table
        .filter(rooms::id.eq(ids::to_text(&room.0)))
        .filter(rooms::site_id.eq(ids::to_text(site_id)))
        .select(COLUMNS)
        .first::<RoomRow>(conn)
        .optional()?
        .map(|row| from_row(site_id, row))
        .transpose()
}

/// A room someone might see, with their place in it and, for direct and support rooms, the
/// person on the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub room: Room,
    pub membership: Option<Membership>,
    pub counterpart: Option<(UserId, String)>,
}

/// The rooms of the site `user` might see: every channel, every room they have a row in, and,
/// with `all_support`, every support room. The default channel comes first, then by name. Which
/// of these they may really see is the server's authorization rule to decide, not this query's.
pub fn candidates_for(
    conn: &mut DbConnection,
    site_id: &Uuid,
    user: &UserId,
    all_support: bool,
) -> Result<Vec<Candidate>, StoreError> {
    let user_text = ids::to_text(&user.0);
    let mut query = rooms::table
        .left_join(
            room_members::table
                .on(room_members::room_id.eq(rooms::id).and(room_members::user_id.eq(user_text.clone()))),
        )
        .filter(rooms::site_id.eq(ids::to_text(site_id)))
        .into_boxed();
    query = if all_support {
        query.filter(
            rooms::kind
                .eq_any([RoomKind::Channel.as_str(), RoomKind::Support.as_str()])
                .or(room_members::user_id.is_not_null()),
        )
    } else {
        query.filter(rooms::kind.eq(RoomKind::Channel.as_str()).or(room_members::user_id.is_not_null()))
    };
    let rows = query
        .order((rooms::is_default.desc(), rooms::name.asc(), rooms::created_at.asc()))
        .select((COLUMNS, (room_members::banned, room_members::read_seq).nullable()))
        .load::<(RoomRow, Option<(bool, i64)>)>(conn)?;
    let mut found = rows
        .into_iter()
        .map(|(row, membership)| {
            Ok(Candidate {
                room: from_row(site_id, row)?,
                membership: membership.map(Membership::from_db).transpose()?,
                counterpart: None,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    fill_counterparts(conn, user, &mut found)?;
    Ok(found)
}

/// The other person of each direct room and the asker of each support room, in two queries
/// whatever the number of rooms.
fn fill_counterparts(conn: &mut DbConnection, user: &UserId, found: &mut [Candidate]) -> Result<(), StoreError> {
    let direct: Vec<String> =
        found.iter().filter(|c| c.room.kind == RoomKind::Direct).map(|c| ids::to_text(&c.room.id.0)).collect();
    let others = room_members::table
        .inner_join(users::table)
        .filter(room_members::room_id.eq_any(&direct))
        .filter(room_members::user_id.ne(ids::to_text(&user.0)))
        .select((room_members::room_id, users::id, users::display_name))
        .load::<(String, String, String)>(conn)?;
    let askers: Vec<String> = found.iter().filter_map(|c| c.room.created_by).map(|u| ids::to_text(&u.0)).collect();
    let names = users::table
        .filter(users::id.eq_any(&askers))
        .select((users::id, users::display_name))
        .load::<(String, String)>(conn)?;
    for candidate in found.iter_mut() {
        let room_text = ids::to_text(&candidate.room.id.0);
        let person = match candidate.room.created_by {
            Some(asker) => {
                let asker_text = ids::to_text(&asker.0);
                names.iter().find(|(id, _)| *id == asker_text).map(|(id, name)| (id.as_str(), name))
            }
            None => others.iter().find(|(room, _, _)| *room == room_text).map(|(_, id, name)| (id.as_str(), name)),
        };
        candidate.counterpart =
            person.map(|(id, name)| Ok::<_, StoreError>((UserId(ids::parse(id)?), name.clone()))).transpose()?;
    }
    Ok(())
}
