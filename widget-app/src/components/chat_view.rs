//! The signed-in panel: who and where you are, the conversation, and the composer; or, in its
//! place, the account panel (the conversation stays mounted, hidden, so the draft survives).

use leptos::html;
use leptos::prelude::*;

use super::account::Account;
use super::composer::Composer;
use super::connection_state::ConnectionStatus;
use super::icons::{AccountIcon, CloseButton};
use super::message_list::MessageList;
use crate::auth;
use crate::chat::{Chat, Phase};

#[component]
pub fn ChatView(chat: Chat, on_close: Callback<()>) -> impl IntoView {
    let room_name = move || chat.room.with(|room| room.as_ref().map_or_else(|| "Chat".to_owned(), |r| r.name.clone()));
    let who = move || chat.session.user().map(|user| format!("Signed in as {}", user.display_name));
    // Only the kind of phase matters for what is mounted; a Memo keeps the list mounted (and
    // scrolled) when the phase is set again to the same kind.
    let phase = Memo::new(move |_| chat.phase.get());
    let account = RwSignal::new(false);
    let account_button = NodeRef::<html::Button>::new();
    // Back from the account panel, focus returns to the button that opened it.
    let on_back = Callback::new(move |()| {
        account.set(false);
        request_animation_frame(move || {
            if let Some(button) = account_button.try_get_untracked().flatten() {
                let _ = button.focus();
            }
        });
    });

    safe_view! {
        <div class="view chat" data-testid="chat" hidden=move || account.get()>
            <header class="panel-header">
                <div class="titles">
                    <h2 class="title">{room_name}</h2>
                    <p class="subtitle" data-testid="whoami">{who}</p>
                </div>
                <button
                    type="button"
                    class="icon-button"
                    data-testid="account"
                    aria-label="Your account"
                    node_ref=account_button
                    on:click=move |_| account.set(true)
                >
                    <AccountIcon/>
                </button>
                <button type="button" class="text-button" data-testid="sign-out" on:click=move |_| auth::sign_out(chat)>
                    "Sign out"
                </button>
                <CloseButton on_close/>
            </header>
            {move || match phase.get() {
                Phase::Loading => safe_view! {
                    <p class="placeholder" role="status">"Loading the conversation…"</p>
                }.into_any(),
                Phase::Failed(reason) => safe_view! {
                    <div class="placeholder" role="alert">
                        <p>{reason}</p>
                        <button type="button" class="secondary" on:click=move |_| chat.open_room()>"Try again"</button>
                    </div>
                }.into_any(),
                Phase::Ready => safe_view! { <MessageList chat/> }.into_any(),
            }}
            <footer class="chat-footer">
                <ConnectionStatus chat/>
                <Composer chat/>
            </footer>
        </div>
        <Show when=move || account.get()>
            <Account chat on_close on_back/>
        </Show>
    }
}
