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
    /// When the text was last changed by its author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// Deleted by its author or a moderator: the message keeps its place, without text.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
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

/// `PATCH /api/v1/rooms/{room}/messages/{id}`: a new text for one's own message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EditMessage {
    /// See [`crate::limits::check_message_body`].
    pub body: String,
}

// Hand-written so message text never reaches a log line through `{:?}`.
impl std::fmt::Debug for EditMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EditMessage").finish_non_exhaustive()
    }
}

/// One earlier text of an edited message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageVersion {
    /// Empty when `unavailable`.
    pub body: String,
    /// When this text was replaced by the next one.
    pub replaced_at: Timestamp,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unavailable: bool,
}

/// `GET /api/v1/rooms/{room}/messages/{id}/versions`: earlier texts, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageVersions {
    pub versions: Vec<MessageVersion>,
}
