//! The CustomEvents the widget dispatches on its host element (`#palisade-widget`) for the page:
//! `palisade:ready`, `palisade:open`, `palisade:close`, `palisade:unread` and
//! `palisade:message`. They bubble and are `composed`, so a listener on `document` hears them.
//!
//! A message event tells the page that something arrived and where, never what it says: the
//! page may show its own notification, but the text stays inside the widget.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use leptos::prelude::*;
use palisade_protocol::RoomId;
use wasm_bindgen::JsValue;

use crate::chat::Chat;
use crate::embed::Embed;

/// Dispatches `palisade:{name}` on `host`. The page's listeners run inside this call; what they
/// throw is theirs and is reported by the browser, not here.
pub fn dispatch(host: &web_sys::HtmlElement, name: &str, detail: &JsValue) {
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(&format!("palisade:{name}"), &init) {
        let _ = host.dispatch_event(&event);
    }
}

/// Dispatches `open`/`close`, `unread` and `message` as the widget's state changes, whoever
/// changed it (the launcher, Escape, the page's API). Call within the app's reactive owner.
pub fn watch(host: web_sys::HtmlElement, chat: Chat, embed: Embed) {
    let open_host = host.clone();
    // The first run compares with "closed", so a panel opened on load (data-open, a mailed link,
    // an early `Palisade.open()`) is announced too.
    Effect::new(move |was_open: Option<bool>| {
        let open = embed.open.get();
        if open != was_open.unwrap_or(false) {
            dispatch(&open_host, if open { "open" } else { "close" }, &JsValue::UNDEFINED);
        }
        open
    });

    let unread_host = host.clone();
    let unread = Memo::new(move |_| chat.rooms.with(|rooms| total_unread(rooms.list())));
    Effect::new(move |before: Option<u64>| {
        let count = unread.get();
        if count != before.unwrap_or(0) {
            dispatch(&unread_host, "unread", &JsValue::from_f64(count as f64));
        }
        count
    });

    let arrivals = StoredValue::new(Arrivals::default());
    Effect::new(move |_| {
        let newest: Vec<(RoomId, u64)> =
            chat.rooms.with(|rooms| rooms.list().iter().map(|room| (room.id, room.last_seq)).collect());
        let risen = arrivals.try_update_value(|arrivals| arrivals.update(&newest)).unwrap_or_default();
        for (room, seq) in risen {
            if let Some(detail) = message_detail(chat, room, seq) {
                dispatch(&host, "message", &detail);
            }
        }
    });
}

/// Unread messages across every conversation: what the launcher's badge shows.
pub fn total_unread(rooms: &[palisade_protocol::rooms::RoomSummary]) -> u64 {
    rooms.iter().map(|room| room.unread).sum()
}

/// `{ room, seq }`, with `id`, `author` (display name) and `sentAt` (ms since the epoch) when
/// the message is in the open conversation; `None` for the person's own message.
fn message_detail(chat: Chat, room: RoomId, seq: u64) -> Option<JsValue> {
    let detail = js_sys::Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = js_sys::Reflect::set(&detail, &JsValue::from_str(key), &value);
    };
    set("room", JsValue::from_str(&room.to_string()));
    set("seq", JsValue::from_f64(seq as f64));
    let me = chat.session.user_untracked().map(|user| user.id);
    let open = chat.rooms.with_untracked(|rooms| rooms.selected_id()) == Some(room);
    if open {
        let held =
            chat.timeline.with_untracked(|timeline| timeline.rows(me)).into_iter().find(|row| row.seq == Some(seq));
        if let Some(row) = held {
            if row.mine {
                return None;
            }
            if let Some(id) = row.id {
                set("id", JsValue::from_str(&id.to_string()));
            }
            set("author", JsValue::from_str(&row.author));
            set("sentAt", JsValue::from_f64(row.sent_at.as_millis() as f64));
        }
    }
    Some(detail.into())
}

/// The newest message seen in each room, to tell a new message from a conversation that
/// merely appeared (the first list after signing in, a room joined later).
#[derive(Debug, Default)]
struct Arrivals {
    newest: HashMap<RoomId, u64>,
}

impl Arrivals {
    /// Takes the rooms' newest `seq`s; returns the rooms whose newest message is newer than
    /// before, with that `seq`. An empty list (signed out) starts over.
    fn update(&mut self, rooms: &[(RoomId, u64)]) -> Vec<(RoomId, u64)> {
        if rooms.is_empty() {
            self.newest.clear();
            return Vec::new();
        }
        let mut risen = Vec::new();
        for &(room, seq) in rooms {
            match self.newest.entry(room) {
                Entry::Vacant(entry) => {
                    entry.insert(seq);
                }
                Entry::Occupied(mut entry) => {
                    if seq > *entry.get() {
                        entry.insert(seq);
                        risen.push((room, seq));
                    }
                }
            }
        }
        risen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(n: u128) -> RoomId {
        RoomId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn only_a_newer_message_in_a_known_room_is_an_arrival() {
        let mut arrivals = Arrivals::default();
        assert!(arrivals.update(&[(room(1), 5), (room(2), 0)]).is_empty(), "the first list is history");
        assert_eq!(arrivals.update(&[(room(1), 6), (room(2), 0)]), [(room(1), 6)]);
        assert!(arrivals.update(&[(room(1), 6), (room(2), 0)]).is_empty(), "nothing new twice");
        assert!(arrivals.update(&[(room(1), 6), (room(2), 0), (room(3), 9)]).is_empty(), "a room joined later");
        assert_eq!(arrivals.update(&[(room(1), 6), (room(2), 2), (room(3), 10)]), [(room(2), 2), (room(3), 10)]);
        assert!(arrivals.update(&[(room(1), 4)]).is_empty(), "a stale list does not go back");
        assert_eq!(arrivals.update(&[(room(1), 7)]), [(room(1), 7)]);
    }

    #[test]
    fn signing_out_starts_over() {
        let mut arrivals = Arrivals::default();
        arrivals.update(&[(room(1), 5)]);
        assert!(arrivals.update(&[]).is_empty());
        assert!(arrivals.update(&[(room(1), 8)]).is_empty(), "the next sign-in's list is history again");
    }
}
