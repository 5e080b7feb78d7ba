//! The round button in the corner that opens and closes the panel, with the number of unread
//! messages. It replaces the loader's placeholder, which looks the same, in the same place.

use leptos::html;
use leptos::prelude::*;

use super::icons::{ChatIcon, CloseIcon};
use crate::i18n::t;
use crate::rooms;

#[component]
pub fn Launcher(open: RwSignal<bool>, unread: Memo<u64>, button_ref: NodeRef<html::Button>) -> impl IntoView {
    let label = move || {
        let action = if open.get() { t().close_chat } else { t().open_chat };
        match unread.get() {
            0 => action.to_owned(),
            n => format!("{action}, {}", (t().unread)(n)),
        }
    };
    safe_view! {
        <button
            type="button"
            class="launcher"
            data-testid="launcher"
            aria-controls="palisade-panel"
            aria-expanded=move || if open.get() { "true" } else { "false" }
            aria-label=label
            node_ref=button_ref
            on:click=move |_| open.update(|open| *open = !*open)
        >
            <Show when=move || open.get() fallback=|| safe_view! { <ChatIcon/> }>
                <CloseIcon/>
            </Show>
            <Show when=move || { unread.get() > 0 && !open.get() }>
                <span class="badge launcher-badge" data-testid="launcher-badge" aria-hidden="true">
                    {move || rooms::badge(unread.get())}
                </span>
            </Show>
        </button>
    }
}
