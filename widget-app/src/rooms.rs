//! The conversations the person can see, which one is open, and what is unread in each.
//!
//! The server's list (`GET /rooms`) is the starting point; after that the widget keeps the
//! counts current itself: the socket is subscribed to every room whose unread messages count
//! (see [`counts_unread`]) from that room's `last_seq`, so each new message raises the room's
//! `last_seq`, and marking the open room read lowers its count. A later list from the server
//! is merged, never trusted blindly: both numbers only move forward, so an answer computed
//! before a message arrived (or before a read marker was stored) cannot undo it.

use palisade_protocol::rooms::{RoomKind, RoomSummary};
use palisade_protocol::{RoomId, UserId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rooms {
    list: Vec<RoomSummary>,
    selected: Option<RoomId>,
}

/// Whether the server counts unread messages of this room for the person: in rooms they are in,
/// and in support conversations (which staff see before anyone of them has answered).
/// Channels read without joining have no read marker, and setting one would join them.
pub fn counts_unread(room: &RoomSummary) -> bool {
    room.joined || room.kind == RoomKind::Support
}

fn recount(room: &mut RoomSummary) {
    room.unread = if counts_unread(room) { room.last_seq.saturating_sub(room.read_seq) } else { 0 };
}

impl Rooms {
    pub fn list(&self) -> &[RoomSummary] {
        &self.list
    }

    pub fn selected_id(&self) -> Option<RoomId> {
        self.selected
    }

    pub fn selected(&self) -> Option<&RoomSummary> {
        self.selected.and_then(|id| self.get(id))
    }

    pub fn get(&self, id: RoomId) -> Option<&RoomSummary> {
        self.list.iter().find(|room| room.id == id)
    }

    /// Takes a fresh list from the server. The open room stays open while it is listed; with
    /// none open (or it is gone), the first room opens, which is the site's default channel
    /// (the server lists it first). Returns the room now open.
    pub fn replace(&mut self, fresh: Vec<RoomSummary>) -> Option<RoomId> {
        let merged = fresh
            .into_iter()
            .map(|mut room| {
                if let Some(known) = self.get(room.id) {
                    room.last_seq = room.last_seq.max(known.last_seq);
                    room.read_seq = room.read_seq.max(known.read_seq);
                }
                recount(&mut room);
                room
            })
            .collect();
        self.list = merged;
        if self.selected.is_none_or(|id| self.get(id).is_none()) {
            self.selected = self.list.first().map(|room| room.id);
        }
        self.selected
    }

    /// Adds a room just created (or replaces it), and opens it.
    pub fn open_new(&mut self, mut room: RoomSummary) {
        recount(&mut room);
        let id = room.id;
        match self.list.iter_mut().find(|known| known.id == id) {
            Some(known) => *known = room,
            None => self.list.push(room),
        }
        self.selected = Some(id);
    }

    /// Opens a listed room; false when there is no such room.
    pub fn select(&mut self, id: RoomId) -> bool {
        let listed = self.get(id).is_some();
        if listed {
            self.selected = Some(id);
        }
        listed
    }

    /// A message with `seq` exists in `room`. Returns whether anything changed.
    pub fn saw(&mut self, room: RoomId, seq: u64) -> bool {
        match self.list.iter_mut().find(|known| known.id == room) {
            Some(known) if seq > known.last_seq => {
                known.last_seq = seq;
                recount(known);
                true
            }
            _ => false,
        }
    }

    /// Everything up to `seq` in `room` has been shown. Returns the marker to send to the
    /// server when it moves forward (never past the room's last message), and counts it read
    /// here at once; `None` when there is nothing to send.
    pub fn read_up_to(&mut self, room: RoomId, seq: u64) -> Option<u64> {
        let known = self.list.iter_mut().find(|known| known.id == room)?;
        if !counts_unread(known) {
            return None;
        }
        // A message shown before its room's count caught up (it arrived on the socket) is
        // still a message of the room.
        known.last_seq = known.last_seq.max(seq);
        if seq <= known.read_seq {
            return None;
        }
        known.read_seq = seq;
        recount(known);
        Some(seq)
    }

    /// The person lost the room (removed or banned). The open room stays listed, so what it
    /// showed stays readable and the notice about it makes sense.
    pub fn remove(&mut self, room: RoomId) {
        if self.selected != Some(room) {
            self.list.retain(|known| known.id != room);
        }
    }

    /// Unread messages in every room but the open one: what the way to the list shows.
    pub fn unread_elsewhere(&self) -> u64 {
        self.list.iter().filter(|room| Some(room.id) != self.selected).map(|room| room.unread).sum()
    }

    /// The rooms the socket follows, with the `seq` to follow each from: the open one, and
    /// every room whose unread messages count.
    pub fn watched(&self) -> Vec<(RoomId, u64)> {
        self.list
            .iter()
            .filter(|room| Some(room.id) == self.selected || counts_unread(room))
            .map(|room| (room.id, room.last_seq))
            .collect()
    }
}

/// How a room is named to `me`: its name, and for a direct or support conversation the other
/// person (for staff, who asked; the person who asked sees just the subject).
pub fn label(room: &RoomSummary, me: Option<UserId>) -> String {
    match &room.counterpart {
        Some(person) if Some(person.id) == me => room.name.clone(),
        Some(person) if room.kind == RoomKind::Direct => person.display_name.clone(),
        Some(person) => format!("{} · {}", room.name, person.display_name),
        None => room.name.clone(),
    }
}

/// The badge: exact up to 99, which is as far as anyone counts at a glance.
pub fn badge(unread: u64) -> String {
    if unread > 99 { "99+".to_owned() } else { unread.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_protocol::messages::Author;
    use uuid::Uuid;

    fn id(n: u128) -> RoomId {
        RoomId(Uuid::from_u128(n))
    }

    fn room(n: u128, kind: RoomKind, joined: bool, last_seq: u64, read_seq: u64) -> RoomSummary {
        RoomSummary {
            id: id(n),
            name: format!("room {n}"),
            kind,
            last_seq,
            joined,
            read_seq,
            // What the server would say; `replace` recomputes it anyway.
            unread: if joined || kind == RoomKind::Support { last_seq - read_seq } else { 0 },
            counterpart: None,
        }
    }

    fn unread(rooms: &Rooms, n: u128) -> u64 {
        rooms.get(id(n)).map(|room| room.unread).unwrap()
    }

    #[test]
    fn the_first_room_opens_and_stays_open_while_listed() {
        let mut rooms = Rooms::default();
        assert_eq!(rooms.replace(vec![]), None);
        let general = room(1, RoomKind::Channel, false, 4, 0);
        let support = room(2, RoomKind::Support, true, 2, 2);
        assert_eq!(rooms.replace(vec![general.clone(), support.clone()]), Some(id(1)));
        assert!(rooms.select(id(2)));
        assert!(!rooms.select(id(9)));
        assert_eq!(rooms.replace(vec![general.clone(), support]), Some(id(2)));
        // Gone from the list (removed meanwhile): back to the first.
        assert_eq!(rooms.replace(vec![general]), Some(id(1)));
    }

    #[test]
    fn unread_counts_only_where_the_server_counts_them() {
        let mut rooms = Rooms::default();
        rooms.replace(vec![
            room(1, RoomKind::Channel, false, 10, 0),
            room(2, RoomKind::Private, true, 7, 3),
            room(3, RoomKind::Support, false, 2, 0),
        ]);
        assert_eq!((unread(&rooms, 1), unread(&rooms, 2), unread(&rooms, 3)), (0, 4, 2));
        // The first room is open; the others add up.
        assert_eq!(rooms.unread_elsewhere(), 6);
        assert!(rooms.saw(id(2), 8));
        assert!(!rooms.saw(id(2), 8), "the same message twice counts once");
        assert!(!rooms.saw(id(2), 5), "an older message changes nothing");
        assert!(rooms.saw(id(1), 11));
        assert_eq!((unread(&rooms, 1), unread(&rooms, 2)), (0, 5));
        assert!(!rooms.saw(id(9), 1));
    }

    #[test]
    fn reading_sends_a_marker_only_when_it_moves_forward() {
        let mut rooms = Rooms::default();
        rooms.replace(vec![room(1, RoomKind::Private, true, 5, 2), room(2, RoomKind::Channel, false, 9, 0)]);
        assert_eq!(rooms.read_up_to(id(1), 4), Some(4));
        assert_eq!(unread(&rooms, 1), 1);
        assert_eq!(rooms.read_up_to(id(1), 4), None);
        assert_eq!(rooms.read_up_to(id(1), 3), None);
        // Shown before the count caught up: counted and read at once.
        assert_eq!(rooms.read_up_to(id(1), 6), Some(6));
        assert_eq!((rooms.get(id(1)).unwrap().last_seq, unread(&rooms, 1)), (6, 0));
        // A channel not joined gets no marker: setting one would join it.
        assert_eq!(rooms.read_up_to(id(2), 9), None);
        assert_eq!(rooms.read_up_to(id(7), 1), None);
    }

    #[test]
    fn a_stale_list_never_undoes_what_arrived_or_was_read_since() {
        let mut rooms = Rooms::default();
        let stale = vec![room(1, RoomKind::Private, true, 5, 2), room(2, RoomKind::Support, true, 3, 0)];
        rooms.replace(stale.clone());
        rooms.saw(id(2), 4);
        rooms.read_up_to(id(1), 5);
        rooms.replace(stale);
        assert_eq!((unread(&rooms, 1), unread(&rooms, 2)), (0, 4));
        // A newer list moves both forward.
        rooms.replace(vec![room(1, RoomKind::Private, true, 8, 6), room(2, RoomKind::Support, true, 4, 4)]);
        assert_eq!((unread(&rooms, 1), unread(&rooms, 2)), (2, 0));
    }

    #[test]
    fn a_new_conversation_opens_and_is_watched() {
        let mut rooms = Rooms::default();
        rooms.replace(vec![room(1, RoomKind::Channel, false, 3, 0), room(2, RoomKind::Channel, true, 1, 1)]);
        rooms.open_new(room(3, RoomKind::Support, true, 0, 0));
        assert_eq!(rooms.selected_id(), Some(id(3)));
        assert_eq!(rooms.list().len(), 3);
        // The open room is watched, and so is every room whose unread messages count.
        assert_eq!(rooms.watched(), [(id(2), 1), (id(3), 0)]);
        rooms.select(id(1));
        assert_eq!(rooms.watched(), [(id(1), 3), (id(2), 1), (id(3), 0)]);
    }

    #[test]
    fn a_lost_room_leaves_the_list_unless_it_is_open() {
        let mut rooms = Rooms::default();
        rooms.replace(vec![room(1, RoomKind::Private, true, 1, 0), room(2, RoomKind::Private, true, 1, 0)]);
        rooms.remove(id(1));
        rooms.remove(id(2));
        assert_eq!(rooms.list().iter().map(|r| r.id).collect::<Vec<_>>(), [id(1)]);
    }

    #[test]
    fn labels_and_counts_for_people() {
        let ada = Author { id: UserId(Uuid::from_u128(5)), display_name: "Ada".into() };
        let mut support = room(1, RoomKind::Support, true, 0, 0);
        support.name = "Support".into();
        let staff = Some(UserId(Uuid::from_u128(6)));
        assert_eq!(label(&support, staff), "Support");
        support.counterpart = Some(ada.clone());
        assert_eq!(label(&support, staff), "Support · Ada");
        // Ada's own request is just "Support" to her.
        assert_eq!(label(&support, Some(ada.id)), "Support");
        let direct = RoomSummary { counterpart: Some(ada), ..room(2, RoomKind::Direct, true, 0, 0) };
        assert_eq!(label(&direct, staff), "Ada");
        assert_eq!([badge(7), badge(99), badge(100)], ["7", "99", "99+"]);
    }
}
