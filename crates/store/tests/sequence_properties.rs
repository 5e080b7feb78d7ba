//! Properties of message ordering and resume, on a real database: whatever mix of sends and
//! retried sends arrives in two rooms, each room's sequence numbers are 1, 2, 3… with a retry
//! getting its first copy's number; and resuming from any point, in pages of any size, yields
//! exactly the later messages, in order, each once (what a reconnecting widget relies on).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use palisade_protocol::{ClientMessageId, MessageId, RoomId, UserId};
use palisade_store::messages::{self, Appended, Cursor, NewMessage};
use palisade_store::test_support::TestDatabase;
use palisade_store::{Sealed, Store, rooms, sites, users};
use proptest::prelude::*;
use uuid::Uuid;

struct Room {
    id: RoomId,
    author: UserId,
}

fn two_rooms(store: &Store) -> [Room; 2] {
    ["acme", "globex"].map(|site| {
        let site = store.with_connection(|c| sites::create(c, &site.parse().unwrap(), site, &[])).unwrap();
        let id = store.with_connection(|c| rooms::default_of(c, &site.id)).unwrap().id;
        let email = Sealed { key_id: 1, bytes: b"sealed email".to_vec() };
        let new = users::NewUser {
            id: UserId(Uuid::new_v4()),
            site_id: site.id,
            email_index: "idx",
            email: &email,
            display_name: "Ada",
            password_hash: "hash",
        };
        let author = store.with_connection(|c| users::create(c, &new)).unwrap().id;
        Room { id, author }
    })
}

/// Every message of `room` read forward from `after` in pages of `size`, as the WebSocket's
/// replay does.
fn resume(store: &Store, room: RoomId, mut after: u64, size: u32) -> Vec<(u64, ClientMessageId)> {
    let mut read = Vec::new();
    loop {
        let (page, more) = store.with_connection(|c| messages::page(c, &room, Cursor::After(after), size)).unwrap();
        assert!(page.len() <= size as usize);
        read.extend(page.iter().map(|m| (m.seq, m.client_id)));
        after = page.last().map_or(after, |m| m.seq);
        if !more {
            return read;
        }
    }
}

proptest! {
    // Each case is a fresh database: enough cases to mix retries and rooms thoroughly, few
    // enough to keep the suite quick.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn sequences_are_gapless_retries_keep_theirs_and_resume_misses_nothing(
        sends in prop::collection::vec((0_usize..2, 0_u8..12), 1..40),
        page_size in 1_u32..6,
    ) {
        let db = TestDatabase::create();
        let store = Store::open(db.url(), 2).unwrap();
        let rooms = two_rooms(&store);
        let client_ids: Vec<ClientMessageId> = (0..12).map(|_| ClientMessageId(Uuid::new_v4())).collect();
        // What each room should hold: client ids in the order first sent.
        let mut expected: [Vec<ClientMessageId>; 2] = [Vec::new(), Vec::new()];
        let body = Sealed { key_id: 1, bytes: b"sealed body".to_vec() };
        for (room_index, client) in sends {
            let (room, client_id) = (&rooms[room_index], client_ids[usize::from(client)]);
            let new = NewMessage {
                id: MessageId(Uuid::new_v4()),
                room: room.id,
                author: room.author,
                author_name: "Ada",
                client_id,
                body: &body,
            };
            let appended = store.with_connection(|c| messages::append(c, &new)).unwrap();
            let held = &mut expected[room_index];
            match held.iter().position(|id| *id == client_id) {
                Some(first) => {
                    prop_assert!(matches!(appended, Appended::Duplicate(_)));
                    prop_assert_eq!(appended.message().seq, first as u64 + 1);
                }
                None => {
                    held.push(client_id);
                    prop_assert!(matches!(appended, Appended::New(_)));
                    prop_assert_eq!(appended.message().seq, held.len() as u64);
                }
            }
        }
        for (room, held) in rooms.iter().zip(&expected) {
            let all: Vec<(u64, ClientMessageId)> = held.iter().enumerate().map(|(i, id)| (i as u64 + 1, *id)).collect();
            for after in 0..=all.len() {
                prop_assert_eq!(resume(&store, room.id, after as u64, page_size), all[after..].to_vec());
            }
        }
    }
}
