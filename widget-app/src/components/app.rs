//! The root view: the launcher (unless the page hides it) and the panel it toggles, which shows
//! the sign-in form or the conversation (or, while a session from an earlier page load is being
//! looked for, a short "connecting"; or, when the site requires a second factor the person has
//! not set up yet, that set-up). The panel stays mounted while hidden so the connection and the
//! draft survive; the page opens and closes it too (`window.Palisade`, see `mount.rs`).

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;

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
use crate::focus_trap;
use crate::host_events::total_unread;
use crate::i18n::t;
use crate::sign_in_providers::SignInProviders;
use crate::viewport::FollowViewport;

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

    let on_close = Callback::new(move |()| open.set(false));

    // Opening moves focus into the panel, where the person is about to type; so does a change
    // of screen while it is open (signed in, or signed out).
    Effect::new(move |_| {
        let _ = screen.get();
        if open.get() {
            request_animation_frame(move || {
                if let Some(panel) = panel.try_get_untracked().flatten() {
                    focus_trap::focus_first(&panel);
                }
            });
        }
    });
    // Closing gives the focus back to what had it before (the launcher, or the page's button
    // that opened the panel), so keyboard users are not dropped at the top of the page; however
    // the panel closed: close button, Escape, the launcher or the page's API.
    Effect::new(move |before: Option<Option<web_sys::HtmlElement>>| {
        let panel = panel.get()?;
        match (before.flatten(), open.get()) {
            (None, true) => focus_trap::remember(&panel).or_else(|| launcher_element(launcher)),
            (Some(previous), false) => {
                // On the next frame, once the launcher shows again (a full-screen panel hides it).
                request_animation_frame(move || {
                    focus_trap::restore(&panel, previous, launcher_element(launcher));
                });
                None
            }
            (kept, _) => kept,
        }
    });
    // A full-screen panel on a phone stays above the on-screen keyboard while open.
    let root = NodeRef::<html::Div>::new();
    Effect::new(move |following: Option<Option<FollowViewport>>| {
        drop(following);
        let root = root.get()?;
        open.get().then(|| FollowViewport::start(web_sys::HtmlElement::clone(&root))).flatten()
    });

    safe_view! {
        <div
            class="palisade"
            node_ref=root
            data-position=embed.position.as_str()
            data-theme=move || embed.theme.get().as_str()
            lang=move || embed.locale.get().tag()
            dir=move || if embed.locale.get().is_rtl() { "rtl" } else { "ltr" }
        >
            {(embed.launcher == LauncherMode::Shown).then(|| safe_view! { <Launcher open unread button_ref=launcher/> })}
            <section
                id="palisade-panel"
                class="panel"
                role="dialog"
                aria-modal="true"
                aria-label=move || t().chat
                hidden=move || !open.get()
                node_ref=panel
                on:keydown=move |ev: KeyboardEvent| {
                    if ev.key() == "Escape" {
                        on_close.run(());
                    } else if let Some(panel) = panel.get_untracked() {
                        focus_trap::keep_tab_inside(&panel, &ev);
                    }
                }
            >
                {move || match screen.get() {
                    Screen::Resuming => safe_view! {
                        <div class="view" data-testid="resuming">
                            <header class="panel-header">
                                <div class="titles">
                                    <h2 class="title">{move || t().chat}</h2>
                                </div>
                                <CloseButton on_close/>
                            </header>
                            <p class="placeholder" role="status">{move || t().connecting}</p>
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

fn launcher_element(launcher: NodeRef<html::Button>) -> Option<web_sys::HtmlElement> {
    launcher.try_get_untracked().flatten().map(|button| web_sys::HtmlElement::clone(&button))
}
