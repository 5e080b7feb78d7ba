//! Messages as the API shows them, over REST history and WebSocket frames alike.

use serde::{Deserialize, Serialize};

use crate::ids::{MessageId, RoomId, UserId};
use crate::time::Timestamp;

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    pub id: UserId,
    pub display_name: String,
}

/// One stored message. `seq` increases by one per message within a room and orders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageView {
    pub room: RoomId,
    pub id: MessageId,
    pub seq: u64,
    pub author: Author,
    /// Plain text; clients render it as text, never as markup. Empty when `unavailable`.
    pub body: String,
    pub sent_at: Timestamp,
    /// The stored body could not be decrypted (tampered with, or under a retired key); the
    /// message keeps its place in the room but its text is gone.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unavailable: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// `GET /api/v1/rooms/{id}/messages` query: at most one of `before` and `after`.
/// Without either, the newest page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Messages with `seq` lower than this, newest first in storage, returned oldest first.
    pub before: Option<u64>,
    /// Messages with `seq` higher than this, oldest first.
    pub after: Option<u64>,
    /// Page size, 1 to [`crate::limits::HISTORY_PAGE_MAX`].
    pub limit: Option<u32>,
}

/// A page of history, always in ascending `seq` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryPage {
    pub messages: Vec<MessageView>,
    /// Whether more messages exist beyond this page in the direction asked.
    pub has_more: bool,
}
