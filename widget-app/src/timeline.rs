//! The messages of one room as the widget shows them: stored messages ordered and deduplicated by
//! `seq`, followed by the person's own messages that the server has not acknowledged yet.
//!
//! History pages, replays after a reconnect and live frames overlap freely; keying by `seq` makes
//! every arrival idempotent, so none of them needs to know what the others already delivered.

use std::collections::BTreeMap;

use crate::i18n::t;
use palisade_protocol::messages::{Author, MessageView};
use palisade_protocol::{ClientMessageId, MessageId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: MessageId,
    pub seq: u64,
    pub author: Author,
    pub body: String,
    pub sent_at: Timestamp,
    /// When its author last changed the text.
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    /// Built from an `ack` before the server's own `message` frame arrived; that frame replaces it.
    pub provisional: bool,
}

impl From<MessageView> for StoredMessage {
    fn from(view: MessageView) -> Self {
        Self {
            id: view.id,
            seq: view.seq,
            author: view.author,
            body: if view.deleted {
                t().message_deleted.to_owned()
            } else if view.unavailable {
                t().message_unavailable.to_owned()
            } else {
                view.body
            },
            sent_at: view.sent_at,
            edited_at: view.edited_at,
            deleted: view.deleted,
            provisional: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent, or waiting for a connection to be sent on; re-sent after every reconnect.
    Sending,
    /// The server refused it; it stays visible until retried or discarded.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub client_id: ClientMessageId,
    pub body: String,
    pub created_at: Timestamp,
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    stored: BTreeMap<u64, StoredMessage>,
    outgoing: Vec<Outgoing>,
    /// Older history exists on the server beyond the oldest stored message.
    has_more_before: bool,
}

/// What the message list renders for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Changes whenever the row's content can change, so a keyed list re-renders exactly then.
    pub key: String,
    pub seq: Option<u64>,
    /// The stored message's id; `None` while it waits for the server.
    pub id: Option<MessageId>,
    pub client_id: Option<ClientMessageId>,
    pub author: String,
    pub body: String,
    pub sent_at: Timestamp,
    pub mine: bool,
    pub edited: bool,
    pub deleted: bool,
    pub status: RowStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    Stored,
    Pending,
    Failed(String),
}

impl Timeline {
    pub fn highest_seq(&self) -> u64 {
        self.stored.last_key_value().map_or(0, |(seq, _)| *seq)
    }

    pub fn lowest_seq(&self) -> Option<u64> {
        self.stored.first_key_value().map(|(seq, _)| *seq)
    }

    pub fn has_more_before(&self) -> bool {
        self.has_more_before
    }

    pub fn outgoing_len(&self) -> usize {
        self.outgoing.len()
    }

    pub fn set_has_more_before(&mut self, more: bool) {
        self.has_more_before = more;
    }

    /// Inserts or replaces by `seq`; the server's copy always wins over a provisional one.
    pub fn insert(&mut self, message: impl Into<StoredMessage>) {
        let message = message.into();
        self.stored.insert(message.seq, message);
    }

    pub fn extend(&mut self, messages: impl IntoIterator<Item = MessageView>) {
        for message in messages {
            self.insert(message);
        }
    }

    /// The person deleted `id`: it shows as deleted at once, whether or not the server's
    /// `updated` frame (which changes nothing more) ever arrives on this connection.
    pub fn delete(&mut self, id: MessageId) {
        if let Some(message) = self.stored.values_mut().find(|m| m.id == id) {
            message.deleted = true;
            t().message_deleted.clone_into(&mut message.body);
        }
    }

    pub fn push_outgoing(&mut self, client_id: ClientMessageId, body: String, created_at: Timestamp) {
        self.outgoing.push(Outgoing { client_id, body, created_at, delivery: Delivery::Sending });
    }

    /// The server stored `client_id` as `id` at `seq`. Returns false for an unknown client id
    /// (already acknowledged, or discarded).
    pub fn acknowledge(&mut self, client_id: ClientMessageId, id: MessageId, seq: u64, me: Option<&Author>) -> bool {
        let Some(index) = self.outgoing.iter().position(|o| o.client_id == client_id) else {
            return false;
        };
        let outgoing = self.outgoing.remove(index);
        if let (false, Some(me)) = (self.stored.contains_key(&seq), me) {
            self.stored.insert(
                seq,
                StoredMessage {
                    id,
                    seq,
                    author: me.clone(),
                    body: outgoing.body,
                    sent_at: outgoing.created_at,
                    edited_at: None,
                    deleted: false,
                    provisional: true,
                },
            );
        }
        true
    }

    pub fn fail(&mut self, client_id: ClientMessageId, reason: String) -> bool {
        match self.outgoing.iter_mut().find(|o| o.client_id == client_id) {
            Some(outgoing) => {
                outgoing.delivery = Delivery::Failed(reason);
                true
            }
            None => false,
        }
    }

    /// Marks a failed message for sending again under the same client id.
    pub fn retry(&mut self, client_id: ClientMessageId) -> bool {
        match self.outgoing.iter_mut().find(|o| o.client_id == client_id) {
            Some(outgoing) => {
                outgoing.delivery = Delivery::Sending;
                true
            }
            None => false,
        }
    }

    pub fn discard(&mut self, client_id: ClientMessageId) {
        self.outgoing.retain(|o| o.client_id != client_id);
    }

    /// The body of `client_id` if it still waits for an acknowledgement.
    pub fn pending_body(&self, client_id: ClientMessageId) -> Option<&str> {
        self.outgoing
            .iter()
            .find(|o| o.client_id == client_id && o.delivery == Delivery::Sending)
            .map(|o| o.body.as_str())
    }

    /// Everything to (re-)send after a connection is authenticated, oldest first.
    pub fn unacknowledged(&self) -> Vec<(ClientMessageId, String)> {
        self.outgoing
            .iter()
            .filter(|o| o.delivery == Delivery::Sending)
            .map(|o| (o.client_id, o.body.clone()))
            .collect()
    }

    pub fn rows(&self, me: Option<UserId>) -> Vec<Row> {
        let stored = self.stored.values().map(|m| Row {
            key: stored_key(m),
            seq: Some(m.seq),
            id: Some(m.id),
            client_id: None,
            author: m.author.display_name.clone(),
            body: m.body.clone(),
            sent_at: m.sent_at,
            mine: me == Some(m.author.id),
            edited: m.edited_at.is_some() && !m.deleted,
            deleted: m.deleted,
            status: RowStatus::Stored,
        });
        let outgoing = self.outgoing.iter().map(|o| {
            let status = match &o.delivery {
                Delivery::Sending => RowStatus::Pending,
                Delivery::Failed(reason) => RowStatus::Failed(reason.clone()),
            };
            Row {
                key: format!("c{}{}", o.client_id, if matches!(status, RowStatus::Failed(_)) { "f" } else { "" }),
                seq: None,
                id: None,
                client_id: Some(o.client_id),
                author: t().you.to_owned(),
                body: o.body.clone(),
                sent_at: o.created_at,
                mine: true,
                edited: false,
                deleted: false,
                status,
            }
        });
        stored.chain(outgoing).collect()
    }
}

/// Changes with everything a stored row shows: an edit or a deletion re-renders it.
fn stored_key(m: &StoredMessage) -> String {
    let state = if m.deleted {
        "d".to_owned()
    } else if let Some(at) = m.edited_at {
        format!("e{}", at.as_millis())
    } else if m.provisional {
        "p".to_owned()
    } else {
        String::new()
    };
    format!("s{}{state}", m.seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_protocol::RoomId;
    use uuid::Uuid;

    fn ada() -> Author {
        Author { id: UserId(Uuid::from_u128(1)), display_name: "Ada".into() }
    }

    fn view(seq: u64, body: &str) -> MessageView {
        MessageView {
            room: RoomId(Uuid::from_u128(9)),
            id: MessageId(Uuid::from_u128(1000 + u128::from(seq))),
            seq,
            author: ada(),
            body: body.into(),
            sent_at: Timestamp(1_700_000_000_000 + i64::try_from(seq).unwrap()),
            unavailable: false,
            edited_at: None,
            deleted: false,
        }
    }

    #[test]
    fn an_edit_or_a_deletion_replaces_the_message_in_its_place() {
        let mut timeline = Timeline::default();
        timeline.insert(view(3, "teh"));
        let key = |t: &Timeline| t.rows(None)[0].key.clone();
        let original = key(&timeline);
        timeline.insert(MessageView { edited_at: Some(Timestamp(1)), ..view(3, "the") });
        assert_eq!(timeline.stored.get(&3).map(|m| m.body.as_str()), Some("the"));
        let row = &timeline.rows(None)[0];
        assert!(row.edited && !row.deleted);
        let edited = key(&timeline);
        assert_ne!(edited, original, "an edit re-renders the row");
        timeline.insert(MessageView { edited_at: Some(Timestamp(2)), ..view(3, "then") });
        assert_ne!(key(&timeline), edited, "so does a second edit");
        timeline.insert(MessageView { deleted: true, edited_at: Some(Timestamp(2)), ..view(3, "") });
        assert_eq!(timeline.stored.get(&3).map(|m| m.body.as_str()), Some(t().message_deleted));
        let row = &timeline.rows(None)[0];
        assert!(row.deleted && !row.edited, "a deleted message is not also marked edited");
        assert_eq!(timeline.stored.len(), 1);
    }

    #[test]
    fn a_deletion_here_shows_at_once_and_the_server_copy_changes_nothing() {
        let mut timeline = Timeline::default();
        timeline.extend([view(1, "keep"), view(2, "oops")]);
        timeline.delete(view(2, "").id);
        let rows = timeline.rows(None);
        assert_eq!((rows[0].body.as_str(), rows[0].deleted), ("keep", false));
        assert_eq!((rows[1].body.as_str(), rows[1].deleted), (t().message_deleted, true));
        let key = rows[1].key.clone();
        timeline.insert(MessageView { deleted: true, ..view(2, "") });
        assert_eq!(timeline.rows(None)[1].key, key, "the server's tombstone does not re-render the row");
    }

    #[test]
    fn an_unavailable_message_keeps_its_place_with_a_notice() {
        let stored = StoredMessage::from(MessageView { unavailable: true, ..view(4, "") });
        assert_eq!((stored.seq, stored.body.as_str()), (4, t().message_unavailable));
    }

    fn cid(n: u128) -> ClientMessageId {
        ClientMessageId(Uuid::from_u128(n))
    }

    #[test]
    fn stored_messages_are_sorted_and_deduplicated_by_seq() {
        let mut timeline = Timeline::default();
        timeline.extend([view(3, "c"), view(1, "a")]);
        timeline.extend([view(2, "b"), view(3, "c"), view(1, "a")]);
        let rows = timeline.rows(None);
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)]);
        assert_eq!(timeline.highest_seq(), 3);
        assert_eq!(timeline.lowest_seq(), Some(1));
    }

    #[test]
    fn own_message_is_pending_until_acknowledged_then_replaced_by_the_server_copy() {
        let mut timeline = Timeline::default();
        timeline.insert(view(1, "hello"));
        timeline.push_outgoing(cid(7), "mine".into(), Timestamp(5));
        let rows = timeline.rows(Some(ada().id));
        assert_eq!(rows.last().map(|r| &r.status), Some(&RowStatus::Pending));
        assert_eq!(timeline.unacknowledged(), [(cid(7), "mine".to_owned())]);

        assert!(timeline.acknowledge(cid(7), MessageId(Uuid::from_u128(2)), 2, Some(&ada())));
        assert!(timeline.unacknowledged().is_empty());
        let rows = timeline.rows(Some(ada().id));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].seq, Some(2));
        assert_eq!(rows[1].key, "s2p");
        assert!(rows[1].mine);

        timeline.insert(view(2, "mine"));
        let rows = timeline.rows(Some(ada().id));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].key, "s2");
        assert!(!timeline.acknowledge(cid(7), MessageId(Uuid::from_u128(2)), 2, Some(&ada())));
    }

    #[test]
    fn message_before_ack_does_not_duplicate_once_acked() {
        let mut timeline = Timeline::default();
        timeline.push_outgoing(cid(7), "mine".into(), Timestamp(5));
        timeline.insert(view(1, "mine"));
        assert!(timeline.acknowledge(cid(7), MessageId(Uuid::from_u128(1001)), 1, Some(&ada())));
        let rows = timeline.rows(None);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, "s1");
    }

    #[test]
    fn failed_messages_are_not_resent_until_retried() {
        let mut timeline = Timeline::default();
        timeline.push_outgoing(cid(1), "one".into(), Timestamp(1));
        timeline.push_outgoing(cid(2), "two".into(), Timestamp(2));
        assert!(timeline.fail(cid(1), "too fast".into()));
        assert_eq!(timeline.unacknowledged(), [(cid(2), "two".to_owned())]);
        assert_eq!(timeline.pending_body(cid(1)), None);
        assert!(matches!(timeline.rows(None)[0].status, RowStatus::Failed(_)));

        assert!(timeline.retry(cid(1)));
        assert_eq!(timeline.pending_body(cid(1)), Some("one"));
        timeline.discard(cid(2));
        assert_eq!(timeline.unacknowledged(), [(cid(1), "one".to_owned())]);
    }
}
