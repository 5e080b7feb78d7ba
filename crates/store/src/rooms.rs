//! Rooms within a site.

use diesel::prelude::*;
use palisade_protocol::RoomId;
use palisade_protocol::rooms::RoomKind;
use uuid::Uuid;

use crate::schema::rooms;
use crate::{DbConnection, StoreError, ids, now_millis};

pub const DEFAULT_ROOM_NAME: &str = "General";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    pub site_id: Uuid,
    pub name: String,
    pub kind: RoomKind,
    pub last_seq: u64,
}

const KIND_CHANNEL: &str = "channel";

fn kind_from_db(kind: &str) -> Result<RoomKind, StoreError> {
    match kind {
        KIND_CHANNEL => Ok(RoomKind::Channel),
        other => Err(StoreError::Corrupt(format!("unknown room kind {other:?}"))),
    }
}

type RoomRow = (String, String, String, i64);

fn from_row(site_id: &Uuid, (id, name, kind, last_seq): RoomRow) -> Result<Room, StoreError> {
    Ok(Room {
        id: RoomId(ids::parse(&id)?),
        site_id: *site_id,
        name,
        kind: kind_from_db(&kind)?,
        last_seq: ids::seq_from_db(last_seq)?,
    })
}

/// Every site starts with one channel everybody on it can use.
pub(crate) fn create_default(conn: &mut DbConnection, site_id: &Uuid) -> Result<RoomId, StoreError> {
    let id = ids::new_id();
    diesel::insert_into(rooms::table)
        .values((
            rooms::id.eq(ids::to_text(&id)),
            rooms::site_id.eq(ids::to_text(site_id)),
            rooms::name.eq(DEFAULT_ROOM_NAME),
            rooms::kind.eq(KIND_CHANNEL),
            rooms::is_default.eq(true),
            rooms::last_seq.eq(0_i64),
            rooms::created_at.eq(now_millis()),
        ))
        .execute(conn)?;
    Ok(RoomId(id))
}

/// The rooms of a site, the default one first.
pub fn list_for_site(conn: &mut DbConnection, site_id: &Uuid) -> Result<Vec<Room>, StoreError> {
    rooms::table
        .filter(rooms::site_id.eq(ids::to_text(site_id)))
        .order((rooms::is_default.desc(), rooms::name.asc()))
        .select((rooms::id, rooms::name, rooms::kind, rooms::last_seq))
        .load::<RoomRow>(conn)?
        .into_iter()
        .map(|row| from_row(site_id, row))
        .collect()
}

/// The room, only if it belongs to `site_id`: a room id from another site is "not found".
pub fn find_in_site(conn: &mut DbConnection, site_id: &Uuid, room: &RoomId) -> Result<Option<Room>, StoreError> {
    rooms::table
        .filter(rooms::id.eq(ids::to_text(&room.0)))
        .filter(rooms::site_id.eq(ids::to_text(site_id)))
        .select((rooms::id, rooms::name, rooms::kind, rooms::last_seq))
        .first::<RoomRow>(conn)
        .optional()?
        .map(|row| from_row(site_id, row))
        .transpose()
}
