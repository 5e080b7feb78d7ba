//! A small line telling whether messages are flowing right now.

use leptos::prelude::*;

use crate::chat::Chat;

#[component]
pub fn ConnectionStatus(chat: Chat) -> impl IntoView {
    let state = move || chat.connection.get();
    safe_view! {
        <p class="connection" data-testid="connection-state" data-state=move || state().as_str() role="status">
            <span class="dot" aria-hidden="true"></span>
            {move || state().label()}
        </p>
    }
}
