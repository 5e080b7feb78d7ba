//! The signed-in panel: the open conversation, who and where you are, and the composer; or, in
//! its place, the list of conversations or the account panel (the conversation stays mounted,
//! hidden, so the draft survives).

use leptos::html;
use leptos::prelude::*;

use super::account::Account;
use super::composer::Composer;
use super::connection_state::ConnectionStatus;
use super::icons::{AccountIcon, CloseButton, ListIcon};
use super::message_list::MessageList;
use super::room_list::RoomList;
use crate::auth;
use crate::chat::{Chat, Phase};
use crate::i18n::t;
use crate::rooms::{self, Rooms};
use crate::timeline::Timeline;
use crate::typing::Typing;

/// What the panel shows in place of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aside {
    None,
    Rooms,
    Account,
}

#[component]
pub fn ChatView(chat: Chat, open: RwSignal<bool>, on_close: Callback<()>) -> impl IntoView {
    let room_name = move || {
        let me = chat.session.user().map(|user| user.id);
        chat.room().map_or_else(|| t().chat.to_owned(), |room| rooms::label(&room, me))
    };
    let who = move || chat.session.user().map(|user| (t().signed_in_as)(&user.display_name));
    // Only the kind of phase matters for what is mounted; a Memo keeps the list mounted (and
    // scrolled) when the phase is set again to the same kind.
    let phase = Memo::new(move |_| chat.phase.get());
    // A new list per room, so each opens scrolled to its newest message.
    let room_id = Memo::new(move |_| chat.rooms.with(Rooms::selected_id));
    let elsewhere = Memo::new(move |_| chat.rooms.with(Rooms::unread_elsewhere));
    let aside = RwSignal::new(Aside::None);
    let account_button = NodeRef::<html::Button>::new();
    let rooms_button = NodeRef::<html::Button>::new();
    // Back from a panel, focus returns to the button that opened it.
    let back_to = move |button: NodeRef<html::Button>| {
        Callback::new(move |()| {
            aside.set(Aside::None);
            request_animation_frame(move || {
                if let Some(button) = button.try_get_untracked().flatten() {
                    let _ = button.focus();
                }
            });
        })
    };
    let on_back = back_to(account_button);
    let on_rooms_back = back_to(rooms_button);
    // A room picked from the list: back to the conversation, ready to write.
    let composer_field = NodeRef::<html::Textarea>::new();
    let on_picked = Callback::new(move |()| {
        aside.set(Aside::None);
        request_animation_frame(move || {
            if let Some(field) = composer_field.try_get_untracked().flatten() {
                let _ = field.focus();
            }
        });
    });

    // Whether the conversation is on screen: the panel open, and no other view in front of it.
    let showing = Signal::derive(move || open.get() && aside.get() == Aside::None);

    // The open room is read while the person can see it: the panel open on the conversation,
    // in a tab that is not hidden.
    let page_visible = RwSignal::new(page_is_visible());
    let listener = window_event_listener_untyped("visibilitychange", move |_| page_visible.set(page_is_visible()));
    on_cleanup(move || listener.remove());
    Effect::new(move |_| {
        let seen = showing.get() && page_visible.get() && phase.get() == Phase::Ready;
        let newest = chat.timeline.with(Timeline::highest_seq);
        if seen && newest > 0 {
            chat.mark_read(newest);
        }
    });

    safe_view! {
        <div class="view chat" data-testid="chat" hidden=move || aside.get() != Aside::None>
            <header class="panel-header">
                <button
                    type="button"
                    class="icon-button rooms-button"
                    data-testid="rooms"
                    aria-label=move || match elsewhere.get() {
                        0 => t().conversations.to_owned(),
                        n => (t().conversations_elsewhere)(n),
                    }
                    node_ref=rooms_button
                    on:click=move |_| aside.set(Aside::Rooms)
                >
                    <ListIcon/>
                    <span class="badge" data-testid="rooms-unread" aria-hidden="true" hidden=move || elsewhere.get() == 0>
                        {move || rooms::badge(elsewhere.get())}
                    </span>
                </button>
                <div class="titles">
                    <h2 class="title" data-testid="room-title">{room_name}</h2>
                    <p class="subtitle" data-testid="whoami">{who}</p>
                </div>
                <button
                    type="button"
                    class="icon-button"
                    data-testid="account"
                    aria-label=move || t().your_account
                    node_ref=account_button
                    on:click=move |_| aside.set(Aside::Account)
                >
                    <AccountIcon/>
                </button>
                <button type="button" class="text-button" data-testid="sign-out" on:click=move |_| auth::sign_out(chat)>
                    {move || t().sign_out}
                </button>
                <CloseButton on_close/>
            </header>
            {move || match (phase.get(), room_id.get()) {
                (Phase::Loading, _) => safe_view! {
                    <p class="placeholder" role="status">{move || t().loading_conversation}</p>
                }.into_any(),
                (Phase::Failed(reason), _) => {
                    notice(Some("alert"), reason, t().try_again, Callback::new(move |()| chat.open_room()))
                }
                (Phase::Ready, None) => notice(
                    None,
                    t().no_conversation_yet.to_owned(),
                    t().start_one,
                    Callback::new(move |()| aside.set(Aside::Rooms)),
                ),
                (Phase::Ready, Some(_)) => safe_view! { <MessageList chat showing/> }.into_any(),
            }}
            <footer class="chat-footer">
                <div class="status-line">
                    <ConnectionStatus chat/>
                    <p class="typing" data-testid="typing" aria-live="polite">{move || chat.typing.with(Typing::text)}</p>
                </div>
                <Composer chat field=composer_field/>
            </footer>
        </div>
        <Show when=move || aside.get() == Aside::Rooms>
            <RoomList chat on_close on_back=on_rooms_back on_picked/>
        </Show>
        <Show when=move || aside.get() == Aside::Account>
            <Account chat on_close on_back/>
        </Show>
    }
}

fn page_is_visible() -> bool {
    !document().hidden()
}

/// A message in place of the conversation, with the one thing to do about it.
fn notice(role: Option<&'static str>, text: String, action: &'static str, run: Callback<()>) -> AnyView {
    safe_view! {
        <div class="placeholder" role=role>
            <p>{text}</p>
            <button type="button" class="secondary" on:click=move |_| run.run(())>{action}</button>
        </div>
    }
    .into_any()
}
