//! The round button in the corner that opens and closes the panel.

use leptos::html;
use leptos::prelude::*;

use super::icons::{ChatIcon, CloseIcon};

#[component]
pub fn Launcher(open: RwSignal<bool>, button_ref: NodeRef<html::Button>) -> impl IntoView {
    safe_view! {
        <button
            type="button"
            class="launcher"
            data-testid="launcher"
            aria-controls="palisade-panel"
            aria-expanded=move || if open.get() { "true" } else { "false" }
            aria-label=move || if open.get() { "Close chat" } else { "Open chat" }
            node_ref=button_ref
            on:click=move |_| open.update(|open| *open = !*open)
        >
            <Show when=move || open.get() fallback=|| safe_view! { <ChatIcon/> }>
                <CloseIcon/>
            </Show>
        </button>
    }
}
