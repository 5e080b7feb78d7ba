//! The conversations: each with what is unread in it (said, not only shown), whether the other
//! person is online, the open one marked, and a way to start a new support conversation with
//! the site's staff. Opening the list asks the server for it again, so rooms started by others
//! since appear.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::RoomId;
use palisade_protocol::rooms::RoomKind;

use super::icons::{BackIcon, CloseButton};
use crate::chat::Chat;
use crate::i18n::t;
use crate::rooms;

/// One line of the list; a new value whenever anything it shows changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    id: RoomId,
    label: String,
    kind: RoomKind,
    unread: u64,
    open: bool,
    /// Whether the other person is online, in a direct or support conversation with someone
    /// else; `None` in a room with no one person on the other side.
    online: Option<bool>,
}

#[component]
pub fn RoomList(chat: Chat, on_close: Callback<()>, on_back: Callback<()>, on_picked: Callback<()>) -> impl IntoView {
    let heading = NodeRef::<html::H2>::new();
    // Focus moves to the panel's heading, so a screen reader says where the person now is.
    request_animation_frame(move || {
        if let Some(heading) = heading.try_get_untracked().flatten() {
            let _ = heading.focus();
        }
    });
    chat.refresh_rooms();
    let items = Memo::new(move |_| {
        let me = chat.session.user().map(|user| user.id);
        chat.rooms.with(|rooms| {
            let open = rooms.selected_id();
            rooms
                .list()
                .iter()
                .map(|room| Item {
                    id: room.id,
                    label: rooms::label(room, me),
                    kind: room.kind,
                    unread: room.unread,
                    open: Some(room.id) == open,
                    online: room
                        .counterpart
                        .as_ref()
                        .filter(|other| Some(other.id) != me)
                        .map(|other| chat.online.with(|online| online.contains(other.id))),
                })
                .collect::<Vec<_>>()
        })
    });
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let pick = move |room: RoomId| {
        chat.select_room(room);
        on_picked.run(());
    };
    let start = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        problem.set(None);
        spawn_local(async move {
            let started = chat.start_support().await;
            // Closed meanwhile: nothing left to update.
            if busy.try_set(false).is_some() {
                return;
            }
            match started {
                Ok(()) => {
                    on_picked.try_run(());
                }
                Err(reason) if !reason.is_empty() => problem.set(Some(reason)),
                Err(_) => {}
            }
        });
    };

    safe_view! {
        <div class="view rooms-view" data-testid="room-list">
            <header class="panel-header">
                <button
                    type="button"
                    class="icon-button"
                    data-testid="rooms-back"
                    aria-label=move || t().back_to_conversation
                    on:click=move |_| on_back.run(())
                >
                    <BackIcon/>
                </button>
                <div class="titles">
                    <h2 class="title" tabindex="-1" node_ref=heading>{move || t().conversations}</h2>
                </div>
                <CloseButton on_close/>
            </header>
            <div class="rooms-body">
                <p class="hint" hidden=move || !items.with(Vec::is_empty)>{move || t().no_conversations_yet}</p>
                <ul class="rooms" aria-label=move || t().conversations>
                    {move || items.get().into_iter().map(|item| room_item(item, pick)).collect_view()}
                </ul>
                <p class="form-error" data-testid="rooms-error" role="alert" hidden=move || problem.with(Option::is_none)>
                    {move || problem.get()}
                </p>
                <button type="button" class="primary" data-testid="new-support" disabled=move || busy.get() on:click=start>
                    {move || t().new_support_conversation}
                </button>
            </div>
        </div>
    }
}

fn room_item(item: Item, pick: impl Fn(RoomId) + Copy + 'static) -> impl IntoView {
    let Item { id, label, kind, unread, open, online } = item;
    safe_view! {
        <li>
            <button
                type="button"
                class="room"
                class:open=open
                data-testid="room"
                data-kind=kind.as_str()
                data-unread=unread.to_string()
                aria-current=open.then_some("true")
                on:click=move |_| pick(id)
            >
                {online.map(|online| safe_view! {
                    <span class="presence" class:online=online data-testid="presence" data-online=online.to_string() aria-hidden="true"></span>
                })}
                <span class="room-name">{label}</span>
                {online.map(|online| safe_view! {
                    <span class="visually-hidden">{move || format!(", {}", if online { t().online } else { t().offline })}</span>
                })}
                {(unread > 0).then(|| safe_view! {
                    <span class="badge" aria-hidden="true">{rooms::badge(unread)}</span>
                    <span class="visually-hidden">{move || format!(", {}", (t().unread)(unread))}</span>
                })}
            </button>
        </li>
    }
}
