//! Rooms: what a person can see, and the bodies that create, join and moderate them.

use serde::{Deserialize, Serialize};

use crate::ids::{RoomId, UserId};
use crate::messages::Author;
use crate::roles::Role;

/// What kind of conversation a room is, which decides who sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Everyone on the site may read it and join it.
    Channel,
    /// Only the people in it see it; they get there by invitation.
    Private,
    /// Two people, and only them.
    Direct,
    /// One person and the site's staff (moderators, admins, owners).
    Support,
}

impl RoomKind {
    pub const ALL: [Self; 4] = [Self::Channel, Self::Private, Self::Direct, Self::Support];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::Private => "private",
            Self::Direct => "direct",
            Self::Support => "support",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomSummary {
    pub id: RoomId,
    pub name: String,
    pub kind: RoomKind,
    /// The highest message sequence number in the room (0 when empty).
    pub last_seq: u64,
    /// Whether the caller is in the room. A channel can be read without joining it.
    pub joined: bool,
    /// The highest sequence number the caller has marked read.
    pub read_seq: u64,
    /// Messages after `read_seq`: `last_seq - read_seq`, 0 for a channel not joined.
    pub unread: u64,
    /// In a direct conversation, the other person; in a support conversation, the person who
    /// asked for help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<Author>,
}

/// `GET /api/v1/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomList {
    pub rooms: Vec<RoomSummary>,
}

/// The kinds of room `POST /api/v1/rooms` creates; direct and support conversations have
/// their own requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NamedRoomKind {
    Channel,
    Private,
}

/// `POST /api/v1/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    pub kind: NamedRoomKind,
    /// See [`crate::limits::check_room_name`].
    pub name: String,
}

/// `POST /api/v1/rooms/direct`: the conversation with `user`, created on first use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartDirect {
    pub user: UserId,
}

/// `POST /api/v1/rooms/support`: a new support conversation; a person may have several.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartSupport {
    /// What it is about, shown as the room's name; "Support" when absent.
    #[serde(default)]
    pub subject: Option<String>,
}

/// The person an invitation or a ban is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberTarget {
    pub user: UserId,
}

/// `PUT /api/v1/rooms/{id}/read`: everything up to `seq` has been read. A marker never moves
/// back, so an older tab cannot undo a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReadMarker {
    pub seq: u64,
}

/// One person in a room, as `GET /api/v1/rooms/{id}/members` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user: Author,
    pub role: Role,
    /// How far they have read: what the widget shows as "seen by".
    pub read_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberList {
    pub members: Vec<MemberView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named_as_documented() {
        for kind in RoomKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn requests_refuse_unknown_fields_and_kinds() {
        assert!(serde_json::from_str::<CreateRoom>(r#"{"kind":"channel","name":"x","owner":"me"}"#).is_err());
        assert!(serde_json::from_str::<CreateRoom>(r#"{"kind":"direct","name":"x"}"#).is_err());
        assert_eq!(serde_json::from_str::<StartSupport>("{}").unwrap(), StartSupport::default());
    }
}
