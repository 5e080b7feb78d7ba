//! The root view: the launcher (unless the page hides it) and the panel it toggles, which shows
//! the sign-in form or the conversation (or, while a session from an earlier page load is being
//! looked for, a short "connecting"; or, when the site requires a second factor the person has
//! not set up yet, that set-up). The panel stays mounted while hidden so the connection and the
//! draft survive; the page opens and closes it too (`window.Palisade`, see `mount.rs`).

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::auth_form::AuthForm;
use super::chat_view::ChatView;
use super::icons::CloseButton;
use super::launcher::Launcher;
use super::mfa_required::MfaRequired;
use crate::auth;
use crate::browser;
use crate::chat::Chat;
use crate::embed::Embed;
use crate::embed_options::LauncherMode;
use crate::host_events::total_unread;
use crate::sign_in_providers::SignInProviders;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    Resuming,
    SignedOut,
    SignedIn,
    /// Signed in, but a second factor must be set up before the conversation opens.
    MfaRequired,
}

#[component]
pub fn App(chat: Chat, embed: Embed) -> impl IntoView {
    let providers = SignInProviders::new();
    auth::resume(chat);
    // Only the kind of screen matters: renewing the token must not remount the conversation.
    let screen = Memo::new(move |_| {
        if chat.session.is_signed_in() && chat.session.is_mfa_required() {
            Screen::MfaRequired
        } else if chat.session.is_signed_in() {
            Screen::SignedIn
        } else if chat.session.is_resuming() {
            Screen::Resuming
        } else {
            Screen::SignedOut
        }
    });
    // A mailed link opened this page: the panel opens on its form.
    let link = RwSignal::new(browser::take_mail_link());
    let open = embed.open;
    if link.get_untracked().is_some() {
        open.set(true);
    }
    let unread = Memo::new(move |_| chat.rooms.with(|rooms| total_unread(rooms.list())));
    let launcher = NodeRef::<html::Button>::new();
    let panel = NodeRef::<html::Section>::new();

    // Focus returns to the launcher so keyboard users are not dropped at the top of the page.
    let on_close = Callback::new(move |()| {
        open.set(false);
        if let Some(button) = launcher.get_untracked() {
            let _ = button.focus();
        }
    });

    // Opening moves focus into the panel, where the person is about to type; so does a change
    // of screen while it is open (signed in, or signed out).
    Effect::new(move |_| {
        let _ = screen.get();
        if open.get() {
            request_animation_frame(move || focus_first_field(panel));
        }
    });

    safe_view! {
        <div class="palisade" data-position=embed.position.as_str() data-theme=move || embed.theme.get().as_str()>
            {(embed.launcher == LauncherMode::Shown).then(|| safe_view! { <Launcher open unread button_ref=launcher/> })}
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
                {move || match screen.get() {
                    Screen::Resuming => safe_view! {
                        <div class="view" data-testid="resuming">
                            <header class="panel-header">
                                <div class="titles">
                                    <h2 class="title">"Chat"</h2>
                                </div>
                                <CloseButton on_close/>
                            </header>
                            <p class="placeholder" role="status">"Connecting…"</p>
                        </div>
                    }.into_any(),
                    Screen::SignedOut => safe_view! { <AuthForm chat providers on_close link/> }.into_any(),
                    Screen::SignedIn => safe_view! { <ChatView chat open on_close/> }.into_any(),
                    Screen::MfaRequired => safe_view! { <MfaRequired chat on_close/> }.into_any(),
                }}
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
