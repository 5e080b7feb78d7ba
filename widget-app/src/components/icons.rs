//! Inline SVG icons. Decorative: every button that shows one carries its own `aria-label`.

use crate::i18n::t;
use leptos::prelude::*;

#[component]
pub fn ChatIcon() -> impl IntoView {
    safe_view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M5 4h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-7l-5 4v-4H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"></path>
        </svg>
    }
}

#[component]
pub fn CloseIcon() -> impl IntoView {
    safe_view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path class="stroke" d="M6 6l12 12M18 6L6 18"></path>
        </svg>
    }
}

#[component]
pub fn SendIcon() -> impl IntoView {
    safe_view! {
        <svg class="icon directional" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"></path>
        </svg>
    }
}

#[component]
pub fn AccountIcon() -> impl IntoView {
    safe_view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.5-8 5.5V21h16v-1.5c0-3-3.6-5.5-8-5.5z"></path>
        </svg>
    }
}

#[component]
pub fn BackIcon() -> impl IntoView {
    safe_view! {
        <svg class="icon directional" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path class="stroke" d="M15 5l-7 7 7 7"></path>
        </svg>
    }
}

#[component]
pub fn ListIcon() -> impl IntoView {
    safe_view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path class="stroke" d="M4 6h16M4 12h16M4 18h10"></path>
        </svg>
    }
}

/// The panel's close button; focus returns to the launcher through `on_close`.
#[component]
pub fn CloseButton(on_close: Callback<()>) -> impl IntoView {
    safe_view! {
        <button type="button" class="icon-button" aria-label=move || t().close_chat on:click=move |_| on_close.run(())>
            <CloseIcon/>
        </button>
    }
}
