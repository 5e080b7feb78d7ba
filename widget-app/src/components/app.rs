//! The root view: the launcher and the panel it toggles, which shows the sign-in form or the
//! conversation. The panel stays mounted while hidden so the connection and the draft survive.

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::auth_form::AuthForm;
use super::chat_view::ChatView;
use super::launcher::Launcher;
use crate::chat::Chat;
use crate::config::Config;

#[component]
pub fn App(config: Config) -> impl IntoView {
    let chat = Chat::new(config);
    let open = RwSignal::new(false);
    let launcher = NodeRef::<html::Button>::new();
    let panel = NodeRef::<html::Section>::new();

    // Focus returns to the launcher so keyboard users are not dropped at the top of the page.
    let on_close = Callback::new(move |()| {
        open.set(false);
        if let Some(button) = launcher.get_untracked() {
            let _ = button.focus();
        }
    });

    // Opening moves focus into the panel, where the person is about to type.
    Effect::new(move |_| {
        if open.get() {
            request_animation_frame(move || focus_first_field(panel));
        }
    });

    safe_view! {
        <div class="palisade">
            <Launcher open button_ref=launcher/>
            <section
                id="palisade-panel"
                class="panel"
                role="dialog"
                aria-label="Chat"
                hidden=move || !open.get()
                node_ref=panel
                on:keydown=move |ev: KeyboardEvent| {
                    if ev.key() == "Escape" {
                        on_close.run(());
                    }
                }
            >
                <Show
                    when=move || chat.session.is_signed_in()
                    fallback=move || safe_view! { <AuthForm chat on_close/> }
                >
                    <ChatView chat on_close/>
                </Show>
            </section>
        </div>
    }
}

fn focus_first_field(panel: NodeRef<html::Section>) {
    let Some(panel) = panel.get_untracked() else {
        return;
    };
    let field = panel.query_selector("textarea, input").ok().flatten();
    if let Some(field) = field.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = field.focus();
    }
}
