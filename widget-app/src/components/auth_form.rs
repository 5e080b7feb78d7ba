//! Sign in or create an account. Limits are checked here first so people learn what is wrong
//! before a round trip; the server checks them again because it must.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::limits::{
    LimitError, PASSWORD_MAX, PASSWORD_MIN, check_display_name, check_email, check_password,
};

use super::icons::CloseButton;
use crate::api;
use crate::chat::Chat;
use crate::cooldown::{self, Cooldown};
use crate::error_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    SignIn,
    Register,
}

#[component]
pub fn AuthForm(chat: Chat, on_close: Callback<()>) -> impl IntoView {
    let mode = RwSignal::new(Mode::SignIn);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let cooldown = Cooldown::new();
    let registering = move || mode.get() == Mode::Register;

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || cooldown.is_waiting() {
            return;
        }
        let register = mode.get_untracked() == Mode::Register;
        let email = email.get_untracked().trim().to_owned();
        let secret = password.get_untracked();
        let name = display_name.get_untracked().trim().to_owned();
        if let Err(err) = validate(register, &email, &secret, &name) {
            error.set(Some(error_text::for_limit(&err)));
            return;
        }
        error.set(None);
        busy.set(true);
        let config = chat.config();
        spawn_local(async move {
            let result = if register {
                api::register(&config, email, secret, name).await
            } else {
                api::login(&config, email, secret).await
            };
            busy.set(false);
            match result {
                Ok(token) => {
                    password.set(String::new());
                    chat.sign_in(token);
                }
                Err(err) => error.set(Some(cooldown.message_for(&err))),
            }
        });
    };

    let toggle = move |_| {
        mode.update(|mode| {
            *mode = match mode {
                Mode::SignIn => Mode::Register,
                Mode::Register => Mode::SignIn,
            }
        });
        error.set(None);
    };

    safe_view! {
        <div class="view auth">
            <header class="panel-header">
                <div class="titles">
                    <h2 class="title">{move || if registering() { "Create an account" } else { "Sign in to chat" }}</h2>
                    <p class="subtitle">"We usually reply within a few minutes."</p>
                </div>
                <CloseButton on_close/>
            </header>
            <form class="auth-form" data-testid="auth-form" novalidate=true on:submit=submit>
                {move || chat.session.notice().map(|notice| safe_view! { <p class="notice" role="status">{notice}</p> })}
                <div class="field">
                    <label for="palisade-email">"Email"</label>
                    <input
                        id="palisade-email"
                        data-testid="email"
                        type="email"
                        autocomplete="email"
                        required=true
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))
                    />
                </div>
                <div class="field">
                    <label for="palisade-password">"Password"</label>
                    <input
                        id="palisade-password"
                        data-testid="password"
                        type="password"
                        required=true
                        autocomplete=move || if registering() { "new-password" } else { "current-password" }
                        aria-describedby=move || registering().then_some("palisade-password-hint")
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                    <Show when=registering>
                        <p class="hint" id="palisade-password-hint">
                            {format!("At least {PASSWORD_MIN} characters. A few unrelated words work well.")}
                        </p>
                    </Show>
                </div>
                <Show when=registering>
                    <div class="field">
                        <label for="palisade-display-name">"Display name"</label>
                        <input
                            id="palisade-display-name"
                            data-testid="display-name"
                            type="text"
                            required=true
                            autocomplete="nickname"
                            prop:value=move || display_name.get()
                            on:input=move |ev| display_name.set(event_target_value(&ev))
                        />
                    </div>
                </Show>
                {move || error.get().map(|message| safe_view! {
                    <p class="form-error" data-testid="auth-error" role="alert">{message}</p>
                })}
                <button
                    type="submit"
                    class="primary"
                    data-testid="auth-submit"
                    disabled=move || { busy.get() || cooldown.left() > 0 }
                >
                    {move || match (busy.get(), cooldown.left(), registering()) {
                        (true, _, _) => "Please wait…".to_owned(),
                        (false, left @ 1.., _) => cooldown::label(left),
                        (false, 0, true) => "Create account".to_owned(),
                        (false, 0, false) => "Sign in".to_owned(),
                    }}
                </button>
                <p class="switch">
                    {move || if registering() { "Already have an account?" } else { "New here?" }}
                    " "
                    <button type="button" class="link" data-testid="auth-mode-toggle" on:click=toggle>
                        {move || if registering() { "Sign in" } else { "Create an account" }}
                    </button>
                </p>
            </form>
        </div>
    }
}

/// Registration checks every limit. Signing in checks only the shape: an existing password is
/// whatever the rules were when it was chosen, and the server is the judge of it.
fn validate(register: bool, email: &str, password: &str, name: &str) -> Result<(), LimitError> {
    check_email(email)?;
    if register {
        check_password(password)?;
        check_display_name(name)
    } else if password.is_empty() {
        Err(LimitError::Empty { field: "password" })
    } else if password.chars().count() > PASSWORD_MAX {
        Err(LimitError::TooLong { field: "password", max: PASSWORD_MAX })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_checks_every_limit_sign_in_only_the_shape() {
        assert!(validate(true, "a@b.example", "correct horse battery", "Ada").is_ok());
        assert_eq!(validate(true, "nope", "correct horse battery", "Ada"), Err(LimitError::EmailShape));
        assert!(matches!(validate(true, "a@b.example", "short", "Ada"), Err(LimitError::TooShort { .. })));
        assert!(matches!(validate(true, "a@b.example", "correct horse battery", ""), Err(LimitError::Empty { .. })));
        assert!(validate(false, "a@b.example", "short", "").is_ok());
        assert_eq!(validate(false, "a@b.example", "", ""), Err(LimitError::Empty { field: "password" }));
    }
}
