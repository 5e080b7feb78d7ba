//! The account panel's second factor: setting up an authenticator app (a QR code drawn as SVG
//! elements, and the secret as text), the recovery codes shown once, and, with the password,
//! turning it off or replacing the codes.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::ErrorCode;
use palisade_protocol::mfa::{MfaStatus, TotpEnrollment};

use crate::api::{self, ApiError};
use crate::auth;
use crate::browser;
use crate::chat::Chat;
use crate::cooldown::Cooldown;
use crate::i18n::t;

/// What the password, once asked for, is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reauth {
    TurnOff,
    NewCodes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// As the server says: on or off.
    Idle,
    /// A new secret waits for its first code.
    Enrolling,
    Password(Reauth),
    /// Fresh recovery codes, shown this once.
    Codes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Enroll,
    Confirm,
    Reauth(Reauth),
}

/// What a successful call leaves to show.
enum Outcome {
    Enrolling(TotpEnrollment),
    Codes(Vec<String>),
    Off,
}

/// `changed` is bumped when turning it on or off has signed out every other device.
/// `on_enrolled`, when given, runs once a second factor is on and its recovery codes have been
/// acknowledged (or at once, when it turns out to be on already): the set-up the site requires.
///
/// Every part is in the DOM from the start and shown or hidden by `step`; only the QR code and
/// the recovery codes are built when they arrive.
#[component]
pub fn TwoFactor(
    chat: Chat,
    changed: RwSignal<u32>,
    #[prop(optional)] on_enrolled: Option<Callback<()>>,
) -> impl IntoView {
    let status = RwSignal::new(None::<MfaStatus>);
    let step = RwSignal::new(Step::Idle);
    let enrollment = RwSignal::new(None::<TotpEnrollment>);
    let codes = RwSignal::new(Vec::<String>::new());
    // The recovery codes as a text file, for the download link.
    let download = RwSignal::new(None::<String>);
    // The code or the password being typed.
    let input = RwSignal::new(String::new());
    // (succeeded, text)
    let message = RwSignal::new(None::<(bool, String)>);
    let copied = RwSignal::new(None::<&'static str>);
    let busy = RwSignal::new(false);
    let cooldown = Cooldown::new();
    on_cleanup(move || {
        if let Some(url) = download.try_get_untracked().flatten() {
            browser::revoke_url(&url);
        }
    });

    let load = move || {
        spawn_local(async move {
            let loaded = match auth::token(chat).await {
                Ok(token) => api::mfa_status(&chat.config(), &token).await,
                Err(err) => Err(err),
            };
            match loaded {
                Ok(loaded) => {
                    let enabled = loaded.totp_enabled;
                    let _ = status.try_set(Some(loaded));
                    if enabled
                        && step.try_get_untracked() == Some(Step::Idle)
                        && let Some(done) = on_enrolled
                    {
                        done.run(());
                    }
                }
                Err(err) => drop(message.try_set(Some((false, err.user_message())))),
            }
        });
    };
    load();

    // Runs one call with a fresh token, then shows what it gave.
    let run = move |call: Call| {
        if busy.get_untracked() || cooldown.is_waiting() {
            return;
        }
        busy.set(true);
        message.set(None);
        copied.set(None);
        let entered = input.get_untracked().trim().to_owned();
        spawn_local(async move {
            let config = chat.config();
            let result = match auth::token(chat).await {
                Ok(token) => match call {
                    Call::Enroll => api::totp_enroll(&config, &token).await.map(Outcome::Enrolling),
                    Call::Confirm => api::totp_confirm(&config, &token, entered).await.map(|c| Outcome::Codes(c.codes)),
                    Call::Reauth(Reauth::TurnOff) => {
                        api::totp_disable(&config, &token, entered).await.map(|()| Outcome::Off)
                    }
                    Call::Reauth(Reauth::NewCodes) => {
                        api::new_recovery_codes(&config, &token, entered).await.map(|c| Outcome::Codes(c.codes))
                    }
                },
                Err(err) => Err(err),
            };
            let _ = busy.try_set(false);
            let outcome = match result {
                Ok(outcome) => outcome,
                Err(err) => {
                    let _ = message.try_set(Some((false, refusal(call, &err, cooldown))));
                    return;
                }
            };
            let _ = input.try_set(String::new());
            let _ = enrollment.try_set(None);
            let next = match outcome {
                Outcome::Enrolling(new) => {
                    let _ = enrollment.try_set(Some(new));
                    Step::Enrolling
                }
                Outcome::Codes(new) => {
                    let url = browser::text_file_url(&(new.join("\n") + "\n"));
                    if let Some(old) = download.try_get_untracked().flatten() {
                        browser::revoke_url(&old);
                    }
                    let _ = download.try_set(url);
                    let _ = codes.try_set(new);
                    Step::Codes
                }
                Outcome::Off => Step::Idle,
            };
            let text = match call {
                Call::Enroll => None,
                Call::Confirm => Some(t().mfa_turned_on),
                Call::Reauth(Reauth::TurnOff) => Some(t().mfa_turned_off),
                Call::Reauth(Reauth::NewCodes) => Some(t().new_codes_made),
            };
            if matches!(call, Call::Confirm | Call::Reauth(Reauth::TurnOff)) {
                let _ = changed.try_update(|n| *n = n.wrapping_add(1));
            }
            let _ = message.try_set(text.map(|text| (true, text.to_owned())));
            let _ = step.try_set(next);
            load();
        });
    };

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match step.get_untracked() {
            Step::Enrolling => run(Call::Confirm),
            Step::Password(reauth) => run(Call::Reauth(reauth)),
            Step::Idle | Step::Codes => {}
        }
    };
    let ask_password = move |reauth: Reauth| {
        input.set(String::new());
        message.set(None);
        step.set(Step::Password(reauth));
    };
    let finish = move |_| {
        codes.set(Vec::new());
        step.set(Step::Idle);
        if let Some(done) = on_enrolled {
            done.run(());
        }
    };
    let copy = move |_| {
        let text = codes.get_untracked().join("\n") + "\n";
        spawn_local(async move {
            let done = browser::copy_text(&text).await;
            let _ = copied.try_set(Some(if done { t().copied } else { t().copy_failed }));
        });
    };
    let idle_with = move |enabled: bool| {
        step.get() == Step::Idle && status.with(|status| status.as_ref().map(|s| s.totp_enabled)) == Some(enabled)
    };
    let not = move |wanted: Step| step.get() != wanted;
    let disabled = move || busy.get() || cooldown.left() > 0;

    safe_view! {
        <section class="account-section" aria-labelledby="palisade-mfa-title" data-testid="mfa-section">
            <h3 id="palisade-mfa-title">{move || t().two_factor}</h3>
            <p class="hint" data-testid="mfa-status">
                {move || match status.get() {
                    None => t().loading.to_owned(),
                    Some(MfaStatus { totp_enabled: false, .. }) => t().mfa_off.to_owned(),
                    Some(MfaStatus { recovery_codes_left, .. }) => {
                        (t().mfa_on)(recovery_codes_left)
                    }
                }}
            </p>
            <div aria-live="polite">
                {move || message.get().map(|(succeeded, text)| safe_view! {
                    <p class=if succeeded { "notice" } else { "form-error" } data-testid="mfa-message">{text}</p>
                })}
            </div>
            <form class="account-form" novalidate=true on:submit=submit>
                <p class="actions" hidden=move || !idle_with(false)>
                    <button
                        type="button"
                        class="primary"
                        data-testid="mfa-setup"
                        disabled=disabled
                        on:click=move |_| run(Call::Enroll)
                    >
                        {move || t().set_up}
                    </button>
                </p>
                <p class="actions" hidden=move || !idle_with(true)>
                    <button
                        type="button"
                        class="secondary"
                        data-testid="mfa-disable"
                        on:click=move |_| ask_password(Reauth::TurnOff)
                    >
                        {move || t().turn_off}
                    </button>
                    <button
                        type="button"
                        class="secondary"
                        data-testid="mfa-new-codes"
                        on:click=move |_| ask_password(Reauth::NewCodes)
                    >
                        {move || t().new_recovery_codes}
                    </button>
                </p>
                <div hidden=move || not(Step::Enrolling)>
                    <p class="hint">{move || t().scan_hint}</p>
                    {move || enrollment.get().map(|TotpEnrollment { secret, qr, .. }| qr_code(secret, &qr))}
                    <div class="field">
                        <label for="palisade-mfa-confirm">{move || t().six_digit_code}</label>
                        <input
                            id="palisade-mfa-confirm"
                            data-testid="mfa-confirm-code"
                            type="text"
                            inputmode="numeric"
                            autocomplete="one-time-code"
                            prop:value=move || input.get()
                            on:input=move |ev| input.set(event_target_value(&ev))
                        />
                    </div>
                    <button type="submit" class="primary" data-testid="mfa-confirm" disabled=disabled>
                        {move || t().turn_on}
                    </button>
                </div>
                <div hidden=move || !matches!(step.get(), Step::Password(_))>
                    <div class="field">
                        <label for="palisade-mfa-password">{move || t().your_password}</label>
                        <input
                            id="palisade-mfa-password"
                            data-testid="mfa-password"
                            type="password"
                            autocomplete="current-password"
                            prop:value=move || input.get()
                            on:input=move |ev| input.set(event_target_value(&ev))
                        />
                    </div>
                    <p class="actions">
                        <button type="submit" class="primary" data-testid="mfa-password-submit" disabled=disabled>
                            {move || if step.get() == Step::Password(Reauth::TurnOff) { t().turn_off } else { t().make_new_codes }}
                        </button>
                        <button type="button" class="link" on:click=move |_| step.set(Step::Idle)>{move || t().cancel}</button>
                    </p>
                </div>
                <div hidden=move || not(Step::Codes)>
                    <p class="hint">
                        {move || t().keep_codes_safe}
                    </p>
                    <ul class="recovery-codes" data-testid="recovery-codes">
                        {move || codes.get().into_iter().map(|code| safe_view! {
                            <li><code data-testid="recovery-code">{code}</code></li>
                        }).collect_view()}
                    </ul>
                    <p class="actions">
                        <button type="button" class="secondary" data-testid="recovery-copy" on:click=copy>{move || t().copy}</button>
                        <a
                            class="secondary"
                            data-testid="recovery-download"
                            href=move || download.get()
                            download="recovery-codes.txt"
                        >
                            {move || t().download}
                        </a>
                        <button type="button" class="primary" data-testid="recovery-done" on:click=finish>{move || t().done}</button>
                    </p>
                    <p class="hint" aria-live="polite">{move || copied.get()}</p>
                </div>
            </form>
        </section>
    }
    .into_any()
}

fn refusal(call: Call, err: &ApiError, cooldown: Cooldown) -> String {
    match (call, err.code()) {
        (Call::Confirm, Some(ErrorCode::InvalidMfaCode)) => t().totp_not_right.to_owned(),
        (Call::Reauth(_), Some(ErrorCode::InvalidCredentials)) => t().password_not_right.to_owned(),
        _ => cooldown.message_for(err),
    }
}

/// The QR code as SVG elements (no markup from the server) and the key as text.
fn qr_code(secret: String, qr: &[String]) -> impl IntoView + use<> {
    let size = (qr.len() + 8).to_string();
    let view_box = format!("-4 -4 {size} {size}");
    safe_view! {
        <svg
            class="qr"
            data-testid="totp-qr"
            role="img"
            aria-label=move || t().qr_code
            viewBox=view_box
            shape-rendering="crispEdges"
        >
            <rect x="-4" y="-4" width=size.clone() height=size fill="#fff"/>
            <path d=qr_path(qr) fill="#000"/>
        </svg>
        <p class="hint">{move || t().key} <code class="secret" data-testid="totp-secret">{secret}</code></p>
    }
}

/// One path for all dark modules: a unit square `M x y h1 v1 h-1 z` per `1`.
fn qr_path(rows: &[String]) -> String {
    let mut d = String::new();
    for (y, row) in rows.iter().enumerate() {
        for (x, module) in row.bytes().enumerate() {
            if module == b'1' {
                d.push_str(&format!("M{x} {y}h1v1h-1z"));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_qr_path_has_a_square_per_dark_module() {
        let rows = vec!["10".to_owned(), "01".to_owned()];
        assert_eq!(super::qr_path(&rows), "M0 0h1v1h-1zM1 1h1v1h-1z");
        assert_eq!(super::qr_path(&[]), "");
    }
}
