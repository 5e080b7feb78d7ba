//! Sign in with a password or a provider (with the second factor when the account has one); ask
//! for a sign-up link and finish creating the account with it; ask for a password-reset link, or
//! choose a new password with one. Limits are checked here first so people learn what is wrong before a round trip; the
//! server checks them again because it must.

use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::ErrorCode;
use palisade_protocol::limits::{
    LimitError, PASSWORD_MAX, PASSWORD_MIN, check_display_name, check_email, check_password,
};
use palisade_protocol::mfa::MfaChallenge;
use palisade_protocol::sites::SignUpMode;

use super::icons::CloseButton;
use super::provider_buttons::ProviderButtons;
use crate::api::{self, ApiError, SignIn};
use crate::browser::{self, MailLink};
use crate::chat::Chat;
use crate::cooldown::{self, Cooldown};
use crate::error_text;
use crate::i18n::t;
use crate::sign_in_providers::SignInProviders;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    SignIn,
    /// Asking for a sign-up link by email.
    Register,
    /// Choosing a name and password with the token from a sign-up link.
    Finish,
    /// The password was right; the second factor is asked for.
    Code,
    /// Asking for a reset link by email.
    Forgot,
    /// Choosing a new password with the token from a reset link.
    Reset,
}

/// `link` holds the mailed link the page was opened with, if any.
#[component]
pub fn AuthForm(
    chat: Chat,
    providers: SignInProviders,
    on_close: Callback<()>,
    link: RwSignal<Option<MailLink>>,
) -> impl IntoView {
    let mode = RwSignal::new(match link.get_untracked() {
        Some(MailLink::Reset(_)) => Mode::Reset,
        Some(MailLink::SignUp(_)) => Mode::Finish,
        None => Mode::SignIn,
    });
    let link_token = move || match link.get_untracked() {
        Some(MailLink::Reset(token) | MailLink::SignUp(token)) => token,
        None => String::new(),
    };
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    // The sign-in ticket of the code step: in memory only, single use.
    let ticket = StoredValue::new(None::<String>);
    let recovery = RwSignal::new(false);
    let code_input = NodeRef::<html::Input>::new();
    let error = RwSignal::new(None::<String>);
    // What went right: a link sent, a password changed.
    let info = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let cooldown = Cooldown::new();
    let is = move |wanted: Mode| mode.get() == wanted;
    // Offered until the site says it takes invited people only (the server refuses others
    // anyway), so a slow or failed answer never hides a way in that works.
    let invite_only = RwSignal::new(false);
    let site_config = chat.config();
    spawn_local(async move {
        if let Ok(site) = api::site_info(&site_config).await {
            let _ = invite_only.try_set(site.sign_up == SignUpMode::InviteOnly);
        }
    });
    let offers_sign_up = move || !invite_only.get() || is(Mode::Register);
    let switch = move |to: Mode| {
        mode.set(to);
        error.set(None);
        info.set(None);
    };

    // How every sign-in ends, whether by password, sign-up link or provider.
    let signed_in = move |token| {
        link.set(None);
        password.set(String::new());
        code.set(String::new());
        ticket.set_value(None);
        chat.sign_in(token);
    };
    let second_factor = move |challenge: MfaChallenge| {
        password.set(String::new());
        ticket.set_value(Some(challenge.ticket));
        recovery.set(false);
        mode.set(Mode::Code);
        // The person is about to type the code.
        request_animation_frame(move || {
            if let Some(input) = code_input.try_get_untracked().flatten() {
                let _ = input.focus();
            }
        });
    };
    let provider_answer = Callback::new(move |answer: Result<SignIn, ApiError>| match answer {
        Ok(SignIn::Done(token)) => signed_in(token),
        Ok(SignIn::Mfa(challenge)) => second_factor(challenge),
        Ok(SignIn::Nothing) => {}
        Err(err) => error.set(Some(cooldown.message_for(&err))),
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || cooldown.is_waiting() {
            return;
        }
        let current = mode.get_untracked();
        let email = email.get_untracked().trim().to_owned();
        let secret = password.get_untracked();
        let name = display_name.get_untracked().trim().to_owned();
        let entered = code.get_untracked().trim().to_owned();
        let checked = match current {
            Mode::SignIn => validate_sign_in(&email, &secret),
            Mode::Finish => check_password(&secret).and_then(|()| check_display_name(&name)),
            Mode::Register | Mode::Forgot => check_email(&email),
            Mode::Reset => check_password(&secret),
            Mode::Code if entered.is_empty() => Err(LimitError::Empty { field: "code" }),
            Mode::Code => Ok(()),
        };
        if let Err(err) = checked {
            error.set(Some(error_text::for_limit(&err)));
            return;
        }
        error.set(None);
        info.set(None);
        busy.set(true);
        let config = chat.config();
        let sent_to = email.clone();
        spawn_local(async move {
            let result = match current {
                Mode::Register => {
                    let page = browser::page_url().unwrap_or_default();
                    api::register(&config, email, page).await.map(|()| SignIn::Nothing)
                }
                Mode::Finish => api::complete_sign_up(&config, link_token(), name, secret).await.map(SignIn::Done),
                Mode::SignIn => api::login(&config, email, secret).await,
                Mode::Code => {
                    let ticket = ticket.get_value().unwrap_or_default();
                    api::mfa_verify(&config, ticket, entered).await.map(SignIn::Done)
                }
                Mode::Forgot => {
                    let page = browser::page_url().unwrap_or_default();
                    api::forgot_password(&config, email, page).await.map(|()| SignIn::Nothing)
                }
                Mode::Reset => api::reset_password(&config, link_token(), secret).await.map(|()| SignIn::Nothing),
            };
            let _ = busy.try_set(false);
            match (current, result) {
                (_, Ok(SignIn::Done(token))) => signed_in(token),
                (_, Ok(SignIn::Mfa(challenge))) => second_factor(challenge),
                (Mode::Forgot, Ok(SignIn::Nothing)) => info.set(Some(t().reset_link_sent.to_owned())),
                (Mode::Register, Ok(SignIn::Nothing)) => info.set(Some((t().sign_up_link_sent)(&sent_to))),
                (_, Ok(SignIn::Nothing)) => {
                    link.set(None);
                    password.set(String::new());
                    mode.set(Mode::SignIn);
                    info.set(Some(t().password_changed_sign_in.to_owned()));
                }
                // The ticket is spent or expired: the first step is needed again, with the
                // password or with the provider the person came through.
                (Mode::Code, Err(err)) if err.code() == Some(ErrorCode::Unauthenticated) => {
                    ticket.set_value(None);
                    code.set(String::new());
                    mode.set(Mode::SignIn);
                    error.set(Some(t().sign_in_expired.to_owned()));
                }
                (Mode::Code, Err(err)) if err.code() == Some(ErrorCode::InvalidMfaCode) => {
                    error.set(Some(t().code_not_right.to_owned()));
                }
                (Mode::Reset | Mode::Finish, Err(err)) if err.code() == Some(ErrorCode::Unauthenticated) => {
                    error.set(Some(t().link_expired.to_owned()));
                }
                (Mode::Forgot | Mode::Register, Err(err))
                    if err.code() == Some(ErrorCode::ServerBusy) && err.retry_after().is_none() =>
                {
                    error.set(Some(t().no_email_here.to_owned()));
                }
                (_, Err(err)) => error.set(Some(cooldown.message_for(&err))),
            }
        });
    };

    let toggle = move |_| switch(if is(Mode::Register) { Mode::SignIn } else { Mode::Register });
    let title = move || match mode.get() {
        Mode::SignIn => t().sign_in_to_chat,
        Mode::Register => t().create_an_account,
        Mode::Finish => t().finish_account,
        Mode::Code => t().two_factor,
        Mode::Forgot => t().forgot_your_password,
        Mode::Reset => t().choose_new_password,
    };
    let has_email = move || matches!(mode.get(), Mode::SignIn | Mode::Register | Mode::Forgot);
    let has_password = move || matches!(mode.get(), Mode::SignIn | Mode::Finish | Mode::Reset);
    let new_password = move || matches!(mode.get(), Mode::Finish | Mode::Reset);

    safe_view! {
        <div class="view auth">
            <header class="panel-header">
                <div class="titles">
                    <h2 class="title">{title}</h2>
                    <p class="subtitle">{move || t().reply_time}</p>
                </div>
                <CloseButton on_close/>
            </header>
            <form class="auth-form" data-testid="auth-form" novalidate=true on:submit=submit>
                {move || chat.session.notice().map(|notice| safe_view! { <p class="notice" role="status">{notice}</p> })}
                {move || info.get().map(|text| safe_view! {
                    <p class="notice" data-testid="auth-info" role="status">{text}</p>
                })}
                <Show when=has_email>
                    <div class="field">
                        <label for="palisade-email">{move || t().email}</label>
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
                </Show>
                <Show when=has_password>
                    <div class="field">
                        <label for="palisade-password">
                            {move || if is(Mode::Reset) { t().new_password } else { t().password }}
                        </label>
                        <input
                            id="palisade-password"
                            data-testid=move || if is(Mode::Reset) { "reset-password" } else { "password" }
                            type="password"
                            required=true
                            autocomplete=move || if new_password() { "new-password" } else { "current-password" }
                            aria-describedby=move || new_password().then_some("palisade-password-hint")
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))
                        />
                        <Show when=new_password>
                            <p class="hint" id="palisade-password-hint">
                                {move || (t().new_password_hint)(PASSWORD_MIN)}
                            </p>
                        </Show>
                    </div>
                </Show>
                <Show when=move || is(Mode::Finish)>
                    <div class="field">
                        <label for="palisade-display-name">{move || t().display_name}</label>
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
                <Show when=move || is(Mode::Code)>
                    <div class="field">
                        <label for="palisade-mfa-code">
                            {move || if recovery.get() { t().recovery_code } else { t().authenticator_code }}
                        </label>
                        <input
                            id="palisade-mfa-code"
                            data-testid="mfa-code"
                            node_ref=code_input
                            type="text"
                            required=true
                            autocomplete="one-time-code"
                            inputmode=move || if recovery.get() { "text" } else { "numeric" }
                            prop:value=move || code.get()
                            on:input=move |ev| code.set(event_target_value(&ev))
                        />
                    </div>
                </Show>
                {move || error.get().map(|message| safe_view! {
                    <p class="form-error" data-testid="auth-error" role="alert">{message}</p>
                })}
                <button
                    type="submit"
                    class="primary"
                    data-testid=move || match mode.get() {
                        Mode::SignIn | Mode::Register => "auth-submit",
                        Mode::Finish => "sign-up-submit",
                        Mode::Code => "mfa-submit",
                        Mode::Forgot => "forgot-submit",
                        Mode::Reset => "reset-submit",
                    }
                    disabled=move || { busy.get() || cooldown.left() > 0 }
                >
                    {move || match (busy.get(), cooldown.left(), mode.get()) {
                        (true, _, _) => t().please_wait.to_owned(),
                        (false, left @ 1.., _) => cooldown::label(left),
                        (false, 0, Mode::Register) => t().email_me_a_link.to_owned(),
                        (false, 0, Mode::Finish) => t().create_account.to_owned(),
                        (false, 0, Mode::SignIn | Mode::Code) => t().sign_in.to_owned(),
                        (false, 0, Mode::Forgot) => t().send_me_a_link.to_owned(),
                        (false, 0, Mode::Reset) => t().change_password.to_owned(),
                    }}
                </button>
                <ProviderButtons
                    chat
                    providers
                    shown=Memo::new(move |_| matches!(mode.get(), Mode::SignIn | Mode::Register))
                    busy
                    error
                    on_answer=provider_answer
                />
                {move || match mode.get() {
                    Mode::SignIn | Mode::Register => safe_view! {
                        <p class="switch">
                            <Show when=offers_sign_up>
                                {move || if is(Mode::Register) { t().have_an_account } else { t().new_here }}
                                " "
                                <button type="button" class="link" data-testid="auth-mode-toggle" on:click=toggle>
                                    {move || if is(Mode::Register) { t().sign_in } else { t().create_an_account }}
                                </button>
                            </Show>
                            <Show when=move || is(Mode::SignIn)>
                                {move || offers_sign_up().then_some(" · ")}
                                <button
                                    type="button"
                                    class="link"
                                    data-testid="forgot-password"
                                    on:click=move |_| switch(Mode::Forgot)
                                >
                                    {move || t().forgot_password}
                                </button>
                            </Show>
                        </p>
                    }.into_any(),
                    other => safe_view! {
                        <p class="switch">
                            <Show when=move || other == Mode::Code>
                                <button
                                    type="button"
                                    class="link"
                                    data-testid="mfa-use-recovery"
                                    on:click=move |_| recovery.update(|on| *on = !*on)
                                >
                                    {move || if recovery.get() { t().use_authenticator } else { t().use_recovery_code }}
                                </button>
                                " · "
                            </Show>
                            <button
                                type="button"
                                class="link"
                                data-testid="back-to-sign-in"
                                on:click=move |_| {
                                    ticket.set_value(None);
                                    switch(Mode::SignIn);
                                }
                            >
                                {move || t().back_to_sign_in}
                            </button>
                        </p>
                    }.into_any(),
                }}
            </form>
        </div>
    }
}

/// Signing in checks only the shape: an existing password is whatever the rules were when it
/// was chosen, and the server is the judge of it. (Choosing one checks every limit.)
fn validate_sign_in(email: &str, password: &str) -> Result<(), LimitError> {
    check_email(email)?;
    if password.is_empty() {
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
    fn sign_in_checks_only_the_shape() {
        assert!(validate_sign_in("a@b.example", "short").is_ok());
        assert_eq!(validate_sign_in("nope", "correct horse battery"), Err(LimitError::EmailShape));
        assert_eq!(validate_sign_in("a@b.example", ""), Err(LimitError::Empty { field: "password" }));
        let long = "p".repeat(PASSWORD_MAX + 1);
        assert!(matches!(validate_sign_in("a@b.example", &long), Err(LimitError::TooLong { .. })));
    }
}
