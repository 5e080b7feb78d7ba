//! Delivers what happens in a room (messages, edits, removals, typing) to every connection
//! subscribed to it, news of rooms that became visible to every connection of their site, and
//! who is online to every connection of the site ([`Presence`]).
//!
//! The server sees fan-out only through the [`Bus`] trait. [`LocalBus`] serves one instance: one
//! bounded broadcast channel per [`Topic`], so a publisher never waits for a slow subscriber, and
//! a subscriber that falls more than [`LocalBus::capacity`] events behind learns it has lagged and
//! must resume from storage (the WebSocket closes it with a reason and the widget resubscribes).
//! Channels of topics nobody listens to are dropped, so memory follows live rooms only. A bus for
//! several instances (Redis pub/sub) would publish to the others and hand what they publish to
//! the same local channels, so subscribers cannot tell the difference.

mod presence;

pub use presence::{Online, Presence, PresenceChange};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use palisade_protocol::messages::{Author, MessageView};
use palisade_protocol::roles::Role;
use palisade_protocol::{RoomId, UserId, permissions};
use tokio::sync::broadcast;
use uuid::Uuid;

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
    /// `room` on `site` became visible to `audience` (started, or someone was invited or let
    /// back in): their lists of rooms are out of date. Published to the site, not the room,
    /// because nobody in the audience is subscribed to the room yet.
    Opened { site: Uuid, room: RoomId, audience: Audience },
}

/// Who on a site an [`RoomEvent::Opened`] is news for. Each connection knows its own person and
/// role, so it can tell without asking the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Everyone on the site (a new channel).
    Everyone,
    /// The site's staff (a new support conversation).
    Staff,
    /// One person.
    Person(UserId),
}

impl Audience {
    /// Whether `user`, who holds `role` on the site, is in it.
    pub fn includes(self, user: UserId, role: Role) -> bool {
        match self {
            Self::Everyone => true,
            Self::Staff => permissions::is_staff(role),
            Self::Person(person) => person == user,
        }
    }
}

/// What a subscription listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Room(RoomId),
    /// Site-wide news ([`RoomEvent::Opened`]); sites never hear each other's.
    Site(Uuid),
}

impl RoomEvent {
    pub fn topic(&self) -> Topic {
        match self {
            Self::Message(message) | Self::Updated(message) => Topic::Room(message.room),
            Self::AccessRevoked { room, .. } | Self::Typing { room, .. } | Self::Read { room, .. } => {
                Topic::Room(*room)
            }
            Self::Opened { site, .. } => Topic::Site(*site),
        }
    }
}

/// Fan-out of room events to the connections subscribed to each topic.
pub trait Bus: Send + Sync + std::fmt::Debug {
    /// Sends `event` to the current subscribers of its topic; nobody waits for them.
    fn publish(&self, event: RoomEvent);

    /// The events of `topic` from now on.
    fn subscribe(&self, topic: Topic) -> Subscription;
}

/// The bus of one server instance; cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalBus {
    topics: Arc<Mutex<HashMap<Topic, broadcast::Sender<Arc<RoomEvent>>>>>,
    capacity: usize,
}

/// A live subscription to one topic.
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
        Self { topics: Arc::default(), capacity: capacity.max(1) }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// As [`Bus::publish`], returning how many subscribers there were.
    pub fn deliver(&self, event: RoomEvent) -> usize {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let topic = event.topic();
        let Some(sender) = topics.get(&topic) else { return 0 };
        match sender.send(Arc::new(event)) {
            Ok(receivers) => receivers,
            Err(_) => {
                topics.remove(&topic);
                0
            }
        }
    }
}

impl Bus for LocalBus {
    fn publish(&self, event: RoomEvent) {
        self.deliver(event);
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = topics.entry(topic).or_insert_with(|| broadcast::channel(self.capacity).0);
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
            RoomEvent::AccessRevoked { .. }
            | RoomEvent::Typing { .. }
            | RoomEvent::Read { .. }
            | RoomEvent::Opened { .. } => 0,
        }
    }

    #[tokio::test]
    async fn subscribers_of_a_room_get_its_messages_in_order_and_no_others() {
        let bus = LocalBus::new(16);
        let (a, b) = (RoomId(Uuid::from_u128(1)), RoomId(Uuid::from_u128(2)));
        let mut first = bus.subscribe(Topic::Room(a));
        let mut second = bus.subscribe(Topic::Room(a));
        let mut other = bus.subscribe(Topic::Room(b));
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
        let mut slow = bus.subscribe(Topic::Room(room));
        for seq in 1..=5 {
            bus.deliver(message(room, seq));
        }
        assert!(matches!(slow.recv().await, Err(RecvError::Lagged(_))));
    }

    #[test]
    fn rooms_without_listeners_are_forgotten() {
        let bus = LocalBus::new(4);
        let room = RoomId(Uuid::from_u128(1));
        drop(bus.subscribe(Topic::Room(room)));
        assert_eq!(bus.deliver(message(room, 1)), 0);
        assert!(bus.topics.lock().unwrap().is_empty());
    }

    #[test]
    fn news_reaches_exactly_its_audience() {
        let (me, someone) = (UserId(Uuid::from_u128(1)), UserId(Uuid::from_u128(2)));
        assert!(Audience::Everyone.includes(me, Role::Member));
        assert!(Audience::Staff.includes(me, Role::Moderator));
        assert!(!Audience::Staff.includes(me, Role::Member));
        assert!(Audience::Person(me).includes(me, Role::Member));
        assert!(!Audience::Person(someone).includes(me, Role::Owner));
    }

    #[tokio::test]
    async fn news_of_a_room_goes_to_its_site_and_not_to_the_room_or_another_site() {
        let bus = LocalBus::new(4);
        let (site, elsewhere) = (Uuid::from_u128(10), Uuid::from_u128(11));
        let room = RoomId(Uuid::from_u128(1));
        let mut on_site = bus.subscribe(Topic::Site(site));
        let mut other_site = bus.subscribe(Topic::Site(elsewhere));
        let mut in_room = bus.subscribe(Topic::Room(room));
        let news = RoomEvent::Opened { site, room, audience: Audience::Staff };
        assert_eq!(bus.deliver(news.clone()), 1);
        assert_eq!(*on_site.recv().await.unwrap(), news);
        assert!(other_site.receiver.try_recv().is_err());
        assert!(in_room.receiver.try_recv().is_err());
    }
}
