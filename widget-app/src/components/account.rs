//! The account panel: where the person is signed in (ending any other device), a new
//! password, and the second factor. Results are announced through live regions that exist before they change.

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::auth::SessionView;
use palisade_protocol::limits::{PASSWORD_MAX, PASSWORD_MIN, check_password};
use palisade_protocol::{ErrorCode, SessionId};

use super::icons::{BackIcon, CloseButton};
use super::two_factor::TwoFactor;
use crate::api;
use crate::auth;
use crate::chat::Chat;
use crate::cooldown::{self, Cooldown};
use crate::error_text;
use crate::i18n::{Strings, t};
use crate::time_label;

#[component]
pub fn Account(chat: Chat, on_close: Callback<()>, on_back: Callback<()>) -> impl IntoView {
    let heading = NodeRef::<html::H2>::new();
    // Focus moves to the panel's heading, so a screen reader says where the person now is.
    request_animation_frame(move || {
        if let Some(heading) = heading.try_get_untracked().flatten() {
            let _ = heading.focus();
        }
    });
    // Bumped when the password changes: every other session has ended, so the list is stale.
    let changed = RwSignal::new(0_u32);

    safe_view! {
        <div class="view account" data-testid="account-panel">
            <header class="panel-header">
                <button
                    type="button"
                    class="icon-button"
                    data-testid="account-back"
                    aria-label=move || t().back_to_conversation
                    on:click=move |_| on_back.run(())
                >
                    <BackIcon/>
                </button>
                <div class="titles">
                    <h2 class="title" tabindex="-1" node_ref=heading>{move || t().your_account}</h2>
                </div>
                <CloseButton on_close/>
            </header>
            <div class="account-body">
                <Sessions chat changed/>
                <ChangePassword chat changed/>
                <TwoFactor chat changed/>
            </div>
        </div>
    }
}

#[component]
fn Sessions(chat: Chat, changed: RwSignal<u32>) -> impl IntoView {
    let sessions = RwSignal::new(Vec::<SessionView>::new());
    // Loading, a failure, or what ending a session did: one polite live region for all.
    let status = RwSignal::new(t().loading.to_owned());
    let busy = RwSignal::new(false);
    let heading = NodeRef::<html::H3>::new();
    let load = move || {
        spawn_local(async move {
            let loaded = match auth::token(chat).await {
                Ok(token) => api::sessions(&chat.config(), &token).await,
                Err(err) => Err(err),
            };
            match loaded {
                Ok(list) => {
                    let _ = sessions.try_set(list.sessions);
                    let _ = status.try_update(|status| {
                        if status == t().loading {
                            status.clear();
                        }
                    });
                }
                Err(err) => {
                    let _ = status.try_set(err.user_message());
                }
            }
        });
    };
    // Loads now, and again after every password change.
    Effect::new(move |_| {
        let _ = changed.get();
        load();
    });
    let end = move |id: SessionId, device: String| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let ended = match auth::token(chat).await {
                Ok(token) => api::end_session(&chat.config(), &token, id).await,
                Err(err) => Err(err),
            };
            let text = match ended {
                Ok(()) => (t().signed_out_of)(&device),
                // Already gone: the list is what counts.
                Err(err) if err.code() == Some(ErrorCode::NotFound) => (t().already_signed_out)(&device),
                Err(err) => err.user_message(),
            };
            let _ = status.try_set(text);
            let _ = busy.try_set(false);
            // The row and its button are gone: focus the list's heading, not the page.
            if let Some(heading) = heading.try_get_untracked().flatten() {
                let _ = heading.focus();
            }
            load();
        });
    };

    safe_view! {
        <section class="account-section" aria-labelledby="palisade-sessions-title">
            <h3 id="palisade-sessions-title" tabindex="-1" node_ref=heading>{move || t().where_signed_in}</h3>
            <ul class="sessions" data-testid="session-list">
                {move || {
                    // Read here, so the rows are drawn again in another language.
                    let t = t();
                    sessions.get().into_iter().map(|session| session_row(session, t, busy, end)).collect_view()
                }}
            </ul>
            <p class="hint" data-testid="sessions-status" aria-live="polite">{move || status.get()}</p>
        </section>
    }
}

fn session_row(
    session: SessionView,
    t: &'static Strings,
    busy: RwSignal<bool>,
    end: impl Fn(SessionId, String) + Copy + 'static,
) -> impl IntoView {
    let SessionView { id, device, network, last_used_at, current, .. } = session;
    let mut details = Vec::with_capacity(3);
    if current {
        details.push(t.this_device.to_owned());
    }
    if let Some(network) = network {
        details.push((t.network)(&network));
    }
    if let Some(used) = time_label::label(last_used_at) {
        details.push((t.last_active)(&used.short));
    }
    let details = details.join(" · ");
    let end_button = (!current).then(|| {
        let label = (t.end_session_on)(&device, &details);
        let device = device.clone();
        safe_view! {
            <button
                type="button"
                class="secondary small"
                data-testid="end-session"
                aria-label=label
                disabled=move || busy.get()
                on:click=move |_| end(id, device.clone())
            >
                {t.end}
            </button>
        }
    });
    safe_view! {
        <li class="session" data-testid="session" data-current=if current { "true" } else { "false" }>
            <p>
                <span class="device">{device}</span>
                <span class="hint">{details}</span>
            </p>
            {end_button}
        </li>
    }
}

#[component]
fn ChangePassword(chat: Chat, changed: RwSignal<u32>) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    // (succeeded, text)
    let message = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let cooldown = Cooldown::new();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || cooldown.is_waiting() {
            return;
        }
        let (current_password, new_password) = (current.get_untracked(), new.get_untracked());
        if let Err(reason) = validate(&current_password, &new_password) {
            message.set(Some((false, reason)));
            return;
        }
        message.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = match auth::token(chat).await {
                Ok(token) => api::change_password(&chat.config(), &token, current_password, new_password).await,
                Err(err) => Err(err),
            };
            let _ = busy.try_set(false);
            let outcome = match result {
                Ok(()) => {
                    let _ = current.try_set(String::new());
                    let _ = new.try_set(String::new());
                    let _ = changed.try_update(|n| *n = n.wrapping_add(1));
                    (true, t().password_changed_everywhere.to_owned())
                }
                Err(err) if err.code() == Some(ErrorCode::InvalidCredentials) => {
                    (false, t().current_password_wrong.to_owned())
                }
                // A guessable password: the server's message says why.
                Err(err) => (false, cooldown.message_for(&err)),
            };
            let _ = message.try_set(Some(outcome));
        });
    };

    safe_view! {
        <section class="account-section" aria-labelledby="palisade-password-title">
            <h3 id="palisade-password-title">{move || t().change_your_password}</h3>
            <form class="account-form" novalidate=true on:submit=submit>
                <div class="field">
                    <label for="palisade-current-password">{move || t().current_password}</label>
                    <input
                        id="palisade-current-password"
                        data-testid="current-password"
                        type="password"
                        autocomplete="current-password"
                        required=true
                        prop:value=move || current.get()
                        on:input=move |ev| current.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="palisade-new-password">{move || t().new_password}</label>
                    <input
                        id="palisade-new-password"
                        data-testid="new-password"
                        type="password"
                        autocomplete="new-password"
                        required=true
                        aria-describedby="palisade-new-password-hint"
                        prop:value=move || new.get()
                        on:input=move |ev| new.set(event_target_value(&ev))
                    />
                    <p class="hint" id="palisade-new-password-hint">
                        {move || (t().account_password_hint)(PASSWORD_MIN)}
                    </p>
                </div>
                <div aria-live="polite">
                    {move || message.get().map(|(succeeded, text)| safe_view! {
                        <p class=if succeeded { "notice" } else { "form-error" } data-testid="account-message">{text}</p>
                    })}
                </div>
                <button
                    type="submit"
                    class="primary"
                    data-testid="change-password"
                    disabled=move || { busy.get() || cooldown.left() > 0 }
                >
                    {move || match (busy.get(), cooldown.left()) {
                        (true, _) => t().please_wait.to_owned(),
                        (false, left @ 1..) => cooldown::label(left),
                        (false, 0) => t().change_password.to_owned(),
                    }}
                </button>
            </form>
        </section>
    }
}

/// Checked here first so people learn what is wrong before a round trip; the server decides
/// whether the new password is too easy to guess.
fn validate(current: &str, new: &str) -> Result<(), String> {
    if current.is_empty() {
        return Err(t().enter_current_password.to_owned());
    }
    if current.chars().count() > PASSWORD_MAX {
        return Err(t().not_current_password.to_owned());
    }
    check_password(new).map_err(|err| error_text::for_limit_named(&err, Some(t().the_new_password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_password_is_checked_against_the_limits_first() {
        assert!(validate("old one", "a long enough new passphrase").is_ok());
        assert_eq!(validate("", "a long enough new passphrase"), Err("Enter your current password.".to_owned()));
        assert_eq!(
            validate("old one", "short"),
            Err(format!("The new password must be at least {PASSWORD_MIN} characters."))
        );
    }
}
