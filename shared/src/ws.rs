//! WebSocket frames: JSON text frames tagged by `type`.
//!
//! A connection's first frame must be [`ClientFrame::Auth`]; the server answers
//! [`ServerFrame::Ready`]. Then the client subscribes to rooms (replaying what it missed after
//! `after_seq`) and sends messages, each acknowledged once it is durably stored.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::ids::{ClientMessageId, MessageId, RoomId, UserId};
use crate::messages::{Author, MessageView};

/// What the widget sends.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Must be the first frame, within [`crate::limits::WS_AUTH_TIMEOUT_SECS`].
    Auth { access_token: String },
    /// Replay messages after `after_seq`, then deliver new ones live.
    Subscribe { room: RoomId, after_seq: u64 },
    /// Store a message; answered by `ack` (or `error` carrying the same `client_id`).
    Send { room: RoomId, client_id: ClientMessageId, body: String },
    /// The person is typing in a subscribed room. Send it every few seconds while they type;
    /// the server passes on at most one per [`crate::limits::TYPING_EVERY_SECS`] per room.
    Typing { room: RoomId },
}

// Hand-written so an access token never reaches a log line through `{:?}`.
impl std::fmt::Debug for ClientFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auth { .. } => f.debug_struct("Auth").finish_non_exhaustive(),
            Self::Subscribe { room, after_seq } => {
                f.debug_struct("Subscribe").field("room", room).field("after_seq", after_seq).finish()
            }
            Self::Send { room, client_id, .. } => {
                f.debug_struct("Send").field("room", room).field("client_id", client_id).finish_non_exhaustive()
            }
            Self::Typing { room } => f.debug_struct("Typing").field("room", room).finish(),
        }
    }
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Authentication succeeded; `user` is who this connection acts as.
    Ready { user: Author },
    /// A stored message, replayed or live. Delivered once per subscription, in `seq` order.
    Message(MessageView),
    /// A message already delivered was edited or deleted: replace the one with this `id`.
    Updated(MessageView),
    /// This connection's person was removed or banned from `room`: nothing more of it comes,
    /// and subscribing again is refused.
    Removed { room: RoomId },
    /// Someone else is typing in a subscribed room; show it for a few seconds.
    Typing { room: RoomId, user: Author },
    /// `user` (someone else, or this connection's person on another device) has read `room`
    /// up to `seq`: what the widget shows as "seen".
    Read { room: RoomId, user: UserId, seq: u64 },
    /// `room` is new to this connection's person: started by them or by someone else (a direct
    /// or support conversation, a channel), or they were invited or let back in. Fetch the list
    /// of rooms again to show it.
    RoomAdded { room: RoomId },
    /// Someone on the site came online (their first connection opened) or went offline
    /// (their last one closed).
    Presence { user: Author, online: bool },
    /// The message with this `client_id` is durably stored as `id` at `seq`.
    Ack { client_id: ClientMessageId, id: MessageId, seq: u64 },
    /// Something went wrong. With `client_id`, that send failed and was not stored.
    Error {
        error: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientMessageId>,
    },
}

impl ServerFrame {
    pub fn error(error: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error { error, message: message.into(), client_id: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::time::Timestamp;
    use uuid::Uuid;

    fn uuid(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn round_trip<T>(value: &T, expected_type: &str)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_value(value).unwrap();
        assert_eq!(json["type"], expected_type, "{json}");
        let back: T = serde_json::from_value(json).unwrap();
        assert_eq!(&back, value);
    }

    #[test]
    fn every_client_frame_round_trips() {
        let frames = [
            (ClientFrame::Auth { access_token: "t".into() }, "auth"),
            (ClientFrame::Subscribe { room: RoomId(uuid(1)), after_seq: 7 }, "subscribe"),
            (ClientFrame::Typing { room: RoomId(uuid(1)) }, "typing"),
            (
                ClientFrame::Send { room: RoomId(uuid(1)), client_id: ClientMessageId(uuid(2)), body: "hi".into() },
                "send",
            ),
        ];
        for (frame, ty) in &frames {
            round_trip(frame, ty);
        }
    }

    #[test]
    fn every_server_frame_round_trips() {
        let author = Author { id: UserId(uuid(3)), display_name: "Ada".into() };
        let frames = [
            (ServerFrame::Ready { user: author.clone() }, "ready"),
            (ServerFrame::Typing { room: RoomId(uuid(1)), user: author.clone() }, "typing"),
            (ServerFrame::Presence { user: author.clone(), online: true }, "presence"),
            (
                ServerFrame::Message(MessageView {
                    room: RoomId(uuid(1)),
                    id: MessageId(uuid(4)),
                    seq: 9,
                    author,
                    body: "<b>not markup</b>".into(),
                    sent_at: Timestamp(1_700_000_000_000),
                    unavailable: false,
                    edited_at: None,
                    deleted: false,
                }),
                "message",
            ),
            (ServerFrame::Removed { room: RoomId(uuid(1)) }, "removed"),
            (ServerFrame::RoomAdded { room: RoomId(uuid(1)) }, "room_added"),
            (ServerFrame::Ack { client_id: ClientMessageId(uuid(2)), id: MessageId(uuid(4)), seq: 9 }, "ack"),
            (ServerFrame::error(ErrorCode::ValidationFailed, "too long"), "error"),
            (
                ServerFrame::Error {
                    error: ErrorCode::Forbidden,
                    message: "no".into(),
                    client_id: Some(ClientMessageId(uuid(5))),
                },
                "error",
            ),
        ];
        for (frame, ty) in &frames {
            round_trip(frame, ty);
        }
    }

    #[test]
    fn wire_shape_is_the_documented_one() {
        let json = serde_json::to_value(ClientFrame::Subscribe { room: RoomId(uuid(1)), after_seq: 3 }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "subscribe", "room": "00000000-0000-0000-0000-000000000001", "after_seq": 3})
        );
        let json = serde_json::to_value(ServerFrame::error(ErrorCode::AuthTimeout, "late")).unwrap();
        assert_eq!(json, serde_json::json!({"type": "error", "error": "auth_timeout", "message": "late"}));
    }

    #[test]
    fn unknown_frame_types_and_fields_are_refused() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout","body":"x"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"auth","access_token":"t","admin":true}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"access_token":"t"}"#).is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let frame = ClientFrame::Auth { access_token: "secret-token".into() };
        assert!(!format!("{frame:?}").contains("secret-token"));
    }
}
