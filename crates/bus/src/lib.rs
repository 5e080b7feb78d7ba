//! Delivers each stored message to every connection subscribed to its room.
//!
//! One bounded broadcast channel per room: a publisher never waits for a slow subscriber; a
//! subscriber that falls more than [`Bus::capacity`] events behind learns it has lagged and must
//! resume from storage (the WebSocket closes it with a reason and the widget resubscribes).
//! Channels of rooms nobody listens to are dropped, so memory follows live rooms only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use palisade_protocol::RoomId;
use palisade_protocol::messages::MessageView;
use tokio::sync::broadcast;

pub use tokio::sync::broadcast::error::RecvError;

/// A handle to the bus; cheap to clone.
#[derive(Clone, Debug)]
pub struct Bus {
    rooms: Arc<Mutex<HashMap<RoomId, broadcast::Sender<Arc<MessageView>>>>>,
    capacity: usize,
}

/// A live subscription to one room.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<MessageView>>,
}

impl Subscription {
    /// The next message, or [`RecvError::Lagged`] when this subscriber fell too far behind.
    pub async fn recv(&mut self) -> Result<Arc<MessageView>, RecvError> {
        self.receiver.recv().await
    }
}

impl Bus {
    pub fn new(capacity: usize) -> Self {
        Self { rooms: Arc::default(), capacity: capacity.max(1) }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn subscribe(&self, room: RoomId) -> Subscription {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = rooms.entry(room).or_insert_with(|| broadcast::channel(self.capacity).0);
        Subscription { receiver: sender.subscribe() }
    }

    /// Sends `message` to the current subscribers of its room; returns how many there were.
    pub fn publish(&self, message: MessageView) -> usize {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let room = message.room;
        let Some(sender) = rooms.get(&room) else { return 0 };
        match sender.send(Arc::new(message)) {
            Ok(receivers) => receivers,
            Err(_) => {
                rooms.remove(&room);
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_protocol::messages::Author;
    use palisade_protocol::{MessageId, Timestamp, UserId};
    use uuid::Uuid;

    fn message(room: RoomId, seq: u64) -> MessageView {
        MessageView {
            room,
            id: MessageId(Uuid::from_u128(u128::from(seq))),
            seq,
            author: Author { id: UserId(Uuid::nil()), display_name: "Ada".into() },
            body: format!("m{seq}"),
            sent_at: Timestamp(0),
            unavailable: false,
        }
    }

    #[tokio::test]
    async fn subscribers_of_a_room_get_its_messages_in_order_and_no_others() {
        let bus = Bus::new(16);
        let (a, b) = (RoomId(Uuid::from_u128(1)), RoomId(Uuid::from_u128(2)));
        let mut first = bus.subscribe(a);
        let mut second = bus.subscribe(a);
        let mut other = bus.subscribe(b);
        assert_eq!(bus.publish(message(a, 1)), 2);
        assert_eq!(bus.publish(message(a, 2)), 2);
        for sub in [&mut first, &mut second] {
            assert_eq!(sub.recv().await.unwrap().seq, 1);
            assert_eq!(sub.recv().await.unwrap().seq, 2);
        }
        assert!(other.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged() {
        let bus = Bus::new(2);
        let room = RoomId(Uuid::from_u128(1));
        let mut slow = bus.subscribe(room);
        for seq in 1..=5 {
            bus.publish(message(room, seq));
        }
        assert!(matches!(slow.recv().await, Err(RecvError::Lagged(_))));
    }

    #[test]
    fn rooms_without_listeners_are_forgotten() {
        let bus = Bus::new(4);
        let room = RoomId(Uuid::from_u128(1));
        drop(bus.subscribe(room));
        assert_eq!(bus.publish(message(room, 1)), 0);
        assert!(bus.rooms.lock().unwrap().is_empty());
    }
}
