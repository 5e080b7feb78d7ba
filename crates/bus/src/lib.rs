//! Delivers what happens in a room (messages, edits, removals, typing) to every connection
//! subscribed to it, and who is online to every connection of the site ([`Presence`]).
//!
//! The server sees fan-out only through the [`Bus`] trait. [`LocalBus`] serves one instance: one
//! bounded broadcast channel per room, so a publisher never waits for a slow subscriber, and a
//! subscriber that falls more than [`LocalBus::capacity`] events behind learns it has lagged and
//! must resume from storage (the WebSocket closes it with a reason and the widget resubscribes).
//! Channels of rooms nobody listens to are dropped, so memory follows live rooms only. A bus for
//! several instances (Redis pub/sub) would publish to the others and hand what they publish to
//! the same local channels, so subscribers cannot tell the difference.

mod presence;

pub use presence::{Online, Presence, PresenceChange};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use palisade_protocol::messages::{Author, MessageView};
use palisade_protocol::{RoomId, UserId};
use tokio::sync::broadcast;

pub use tokio::sync::broadcast::error::RecvError;

/// What happened in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// A message was stored.
    Message(MessageView),
    /// A message was edited or deleted.
    Updated(MessageView),
    /// `user` was removed or banned: their connections must stop delivering the room now,
    /// not when they next reconnect.
    AccessRevoked { room: RoomId, user: UserId },
    /// `user` is typing in the room.
    Typing { room: RoomId, user: Author },
    /// `user`'s read marker in the room moved to `seq`.
    Read { room: RoomId, user: UserId, seq: u64 },
}

impl RoomEvent {
    pub fn room(&self) -> RoomId {
        match self {
            Self::Message(message) | Self::Updated(message) => message.room,
            Self::AccessRevoked { room, .. } | Self::Typing { room, .. } | Self::Read { room, .. } => *room,
        }
    }
}

/// Fan-out of room events to the connections subscribed to each room.
pub trait Bus: Send + Sync + std::fmt::Debug {
    /// Sends `event` to the current subscribers of its room; nobody waits for them.
    fn publish(&self, event: RoomEvent);

    /// The events of `room` from now on.
    fn subscribe(&self, room: RoomId) -> Subscription;
}

/// The bus of one server instance; cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalBus {
    rooms: Arc<Mutex<HashMap<RoomId, broadcast::Sender<Arc<RoomEvent>>>>>,
    capacity: usize,
}

/// A live subscription to one room.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<RoomEvent>>,
}

impl Subscription {
    /// The next event, or [`RecvError::Lagged`] when this subscriber fell too far behind.
    pub async fn recv(&mut self) -> Result<Arc<RoomEvent>, RecvError> {
        self.receiver.recv().await
    }
}

impl LocalBus {
    pub fn new(capacity: usize) -> Self {
        Self { rooms: Arc::default(), capacity: capacity.max(1) }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// As [`Bus::publish`], returning how many subscribers there were.
    pub fn deliver(&self, event: RoomEvent) -> usize {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let room = event.room();
        let Some(sender) = rooms.get(&room) else { return 0 };
        match sender.send(Arc::new(event)) {
            Ok(receivers) => receivers,
            Err(_) => {
                rooms.remove(&room);
                0
            }
        }
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: RoomEvent) {
        self.deliver(event);
    }

    fn subscribe(&self, room: RoomId) -> Subscription {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = rooms.entry(room).or_insert_with(|| broadcast::channel(self.capacity).0);
        Subscription { receiver: sender.subscribe() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_protocol::messages::Author;
    use palisade_protocol::{MessageId, Timestamp};
    use uuid::Uuid;

    fn message(room: RoomId, seq: u64) -> RoomEvent {
        RoomEvent::Message(MessageView {
            room,
            id: MessageId(Uuid::from_u128(u128::from(seq))),
            seq,
            author: Author { id: UserId(Uuid::nil()), display_name: "Ada".into() },
            body: format!("m{seq}"),
            sent_at: Timestamp(0),
            unavailable: false,
            edited_at: None,
            deleted: false,
        })
    }

    fn seq_of(event: &RoomEvent) -> u64 {
        match event {
            RoomEvent::Message(message) | RoomEvent::Updated(message) => message.seq,
            RoomEvent::AccessRevoked { .. } | RoomEvent::Typing { .. } | RoomEvent::Read { .. } => 0,
        }
    }

    #[tokio::test]
    async fn subscribers_of_a_room_get_its_messages_in_order_and_no_others() {
        let bus = LocalBus::new(16);
        let (a, b) = (RoomId(Uuid::from_u128(1)), RoomId(Uuid::from_u128(2)));
        let mut first = bus.subscribe(a);
        let mut second = bus.subscribe(a);
        let mut other = bus.subscribe(b);
        assert_eq!(bus.deliver(message(a, 1)), 2);
        assert_eq!(bus.deliver(message(a, 2)), 2);
        for sub in [&mut first, &mut second] {
            assert_eq!(seq_of(&sub.recv().await.unwrap()), 1);
            assert_eq!(seq_of(&sub.recv().await.unwrap()), 2);
        }
        assert!(other.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged() {
        let bus = LocalBus::new(2);
        let room = RoomId(Uuid::from_u128(1));
        let mut slow = bus.subscribe(room);
        for seq in 1..=5 {
            bus.deliver(message(room, seq));
        }
        assert!(matches!(slow.recv().await, Err(RecvError::Lagged(_))));
    }

    #[test]
    fn rooms_without_listeners_are_forgotten() {
        let bus = LocalBus::new(4);
        let room = RoomId(Uuid::from_u128(1));
        drop(bus.subscribe(room));
        assert_eq!(bus.deliver(message(room, 1)), 0);
        assert!(bus.rooms.lock().unwrap().is_empty());
    }
}
