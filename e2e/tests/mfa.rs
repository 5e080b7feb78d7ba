//! The second factor in the widget: set up an authenticator from the account panel (the test
//! reads the key the widget shows and computes codes itself, as an app would), see the recovery
//! codes once, then sign in again: the code step appears, a replayed code is refused with an
//! error shown, and the next time step's code signs in; so does a recovery code. New recovery
//! codes and turning it off need the password. A site that requires a second factor of the
//! person's role shows the set-up instead of the chat until there is one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    PASSWORD, assert_no_csp_violations, code, connected, enabled, open_widget, present, register, started, step_now,
    submit_sign_up, totp_secret,
};
use palisade_e2e::{Driver, Stack, testid};
use palisade_protocol::roles::Role;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticator_set_up_in_the_widget_guards_the_next_sign_in() {
    // Four sign-ins, wrong codes and passwords within seconds: more than the default sign-in
    // budget per address (a burst of 10) allows, and no rate limit is under test here.
    let stack = Stack::start_with(|config| config.auth_burst = std::num::NonZeroU32::new(100).unwrap()).await.unwrap();
    let driver = Driver::start().unwrap();
    let fay = driver.browser("fay").await.unwrap();

    open_widget(&fay, Some(&stack.host_page_url)).await;
    register(&stack, &fay, "fay@example.org", "Fay").await;

    // Set up: the QR code is SVG elements (no markup from the server), the key is text.
    fay.click(&testid("account")).await.unwrap();
    fay.wait_until(&enabled("mfa-setup")).await.unwrap();
    fay.click(&testid("mfa-setup")).await.unwrap();
    fay.wait_until(&present("totp-secret")).await.unwrap();
    let modules = fay.eval(&format!("q({} + ' path')?.getAttribute('d').length ?? 0", json!(testid("totp-qr")))).await;
    assert!(modules.unwrap().as_u64().unwrap() > 100, "the QR code is drawn");
    let secret = totp_secret(&fay.text(&testid("totp-secret")).await.unwrap().unwrap());
    let confirmed_step = step_now();
    fay.type_into(&testid("mfa-confirm-code"), &code(&secret, confirmed_step)).await.unwrap();
    fay.click(&testid("mfa-confirm")).await.unwrap();

    // The recovery codes, shown once: ten of them, in the documented shape.
    let codes = format!("qa({})", json!(testid("recovery-code")));
    fay.wait_until(&format!("{codes}.length === 10")).await.unwrap();
    let shown: Vec<String> =
        serde_json::from_value(fay.eval(&format!("{codes}.map((c) => c.textContent)")).await.unwrap()).unwrap();
    assert!(shown.iter().all(|c| c.len() == 19 && c.matches('-').count() == 3), "{shown:?}");
    let download = fay.eval(&format!("q({})?.getAttribute('href') ?? ''", json!(testid("recovery-download")))).await;
    assert!(download.unwrap().as_str().unwrap().starts_with("blob:"), "a download link");
    // Downloading them is a click on a blob: link, which the host page's CSP lets through.
    fay.click(&testid("recovery-download")).await.unwrap();
    fay.click(&testid("recovery-done")).await.unwrap();
    fay.wait_until(&format!("q({})?.textContent.startsWith('On')", json!(testid("mfa-status")))).await.unwrap();

    // Sign out, and in again with the password: the code step appears instead of the chat.
    fay.click(&testid("account-back")).await.unwrap();
    fay.click(&testid("sign-out")).await.unwrap();
    fay.wait_until(&present("auth-form")).await.unwrap();
    fay.type_into(&testid("email"), "fay@example.org").await.unwrap();
    fay.type_into(&testid("password"), PASSWORD).await.unwrap();
    fay.click(&testid("auth-submit")).await.unwrap();
    fay.wait_until(&present("mfa-code")).await.unwrap();
    let input = fay.eval(&format!("[q({0}).autocomplete, q({0}).inputMode]", json!(testid("mfa-code")))).await.unwrap();
    assert_eq!(input, json!(["one-time-code", "numeric"]));
    fay.wait_until(&format!("root.activeElement === q({})", json!(testid("mfa-code")))).await.unwrap();

    // The code that confirmed the set-up is spent: replaying it is refused, and said so.
    fay.type_into(&testid("mfa-code"), &code(&secret, confirmed_step)).await.unwrap();
    fay.click(&testid("mfa-submit")).await.unwrap();
    fay.wait_until(&present("auth-error")).await.unwrap();
    let refused = fay.text(&testid("auth-error")).await.unwrap().unwrap();
    assert!(refused.contains("not right"), "{refused}");
    assert!(fay.eval(&present("chat")).await.unwrap() == json!(false));

    // The next step's code is inside the drift window and unused: it signs in, once the
    // server's back-off after a failed code (1 s) has passed.
    let until = fay.eval("Date.now()").await.unwrap().as_f64().unwrap() + 1100.0;
    fay.wait_until(&format!("Date.now() > {until}")).await.unwrap();
    fay.wait_until(&enabled("mfa-submit")).await.unwrap();
    fay.clear(&testid("mfa-code")).await.unwrap();
    fay.type_into(&testid("mfa-code"), &code(&secret, confirmed_step + 1)).await.unwrap();
    fay.click(&testid("mfa-submit")).await.unwrap();
    fay.wait_until(&connected()).await.unwrap();

    // A recovery code stands in for the app, through the same field.
    fay.click(&testid("sign-out")).await.unwrap();
    fay.wait_until(&present("auth-form")).await.unwrap();
    fay.type_into(&testid("email"), "fay@example.org").await.unwrap();
    fay.type_into(&testid("password"), PASSWORD).await.unwrap();
    fay.click(&testid("auth-submit")).await.unwrap();
    fay.wait_until(&present("mfa-code")).await.unwrap();
    fay.click(&testid("mfa-use-recovery")).await.unwrap();
    fay.wait_until(&format!("q({})?.inputMode === 'text'", json!(testid("mfa-code")))).await.unwrap();
    fay.type_into(&testid("mfa-code"), &shown[0]).await.unwrap();
    fay.click(&testid("mfa-submit")).await.unwrap();
    fay.wait_until(&connected()).await.unwrap();

    // New recovery codes and turning it off both ask for the password.
    let message = format!("q({})", json!(testid("mfa-message")));
    fay.click(&testid("account")).await.unwrap();
    fay.wait_until(&format!("q({})?.textContent.includes('left: 9')", json!(testid("mfa-status")))).await.unwrap();
    fay.click(&testid("mfa-new-codes")).await.unwrap();
    fay.type_into(&testid("mfa-password"), "not my password at all").await.unwrap();
    fay.click(&testid("mfa-password-submit")).await.unwrap();
    fay.wait_until(&format!("{message}?.classList.contains('form-error')")).await.unwrap();
    let until = fay.eval("Date.now()").await.unwrap().as_f64().unwrap() + 1100.0;
    fay.wait_until(&format!("Date.now() > {until}")).await.unwrap();
    fay.clear(&testid("mfa-password")).await.unwrap();
    fay.type_into(&testid("mfa-password"), PASSWORD).await.unwrap();
    fay.click(&testid("mfa-password-submit")).await.unwrap();
    fay.wait_until(&format!("{codes}.length === 10 && !{codes}.some((c) => c.textContent === {})", json!(shown[1])))
        .await
        .unwrap();
    fay.click(&testid("recovery-done")).await.unwrap();
    fay.click(&testid("mfa-disable")).await.unwrap();
    fay.type_into(&testid("mfa-password"), PASSWORD).await.unwrap();
    fay.click(&testid("mfa-password-submit")).await.unwrap();
    fay.wait_until(&format!("q({})?.textContent.startsWith('Off')", json!(testid("mfa-status")))).await.unwrap();
    fay.wait_until(&enabled("mfa-setup")).await.unwrap();

    assert_no_csp_violations(&fay).await;
    fay.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_requires_a_second_factor_sets_one_up_before_the_chat_opens() {
    let stack = Stack::start().await.unwrap();
    stack.require_mfa_of(&[Role::Member]).unwrap();
    let driver = Driver::start().unwrap();
    let gus = driver.browser("gus").await.unwrap();

    open_widget(&gus, Some(&stack.host_page_url)).await;
    submit_sign_up(&stack, &gus, "gus@example.org", "Gus").await;

    // Signed in, but the set-up comes first: no conversation, no socket.
    gus.wait_until(&present("mfa-required")).await.unwrap();
    let reason = gus.text(&testid("mfa-required-reason")).await.unwrap().unwrap();
    assert!(reason.contains("requires two-factor authentication"), "{reason}");
    assert_eq!(gus.eval(&present("chat")).await.unwrap(), json!(false));
    assert_eq!(gus.eval(&present("connection-state")).await.unwrap(), json!(false));

    // A reload resumes the session into the same screen.
    gus.reload().await.unwrap();
    gus.wait_until(&started()).await.unwrap();
    gus.click(&testid("launcher")).await.unwrap();
    gus.wait_until(&enabled("mfa-setup")).await.unwrap();
    assert_eq!(gus.eval(&present("chat")).await.unwrap(), json!(false));

    gus.click(&testid("mfa-setup")).await.unwrap();
    gus.wait_until(&present("totp-secret")).await.unwrap();
    let secret = totp_secret(&gus.text(&testid("totp-secret")).await.unwrap().unwrap());
    gus.type_into(&testid("mfa-confirm-code"), &code(&secret, step_now())).await.unwrap();
    gus.click(&testid("mfa-confirm")).await.unwrap();
    let codes = format!("qa({})", json!(testid("recovery-code")));
    gus.wait_until(&format!("{codes}.length === 10")).await.unwrap();
    // Still the set-up screen until the codes are acknowledged.
    assert_eq!(gus.eval(&present("chat")).await.unwrap(), json!(false));
    gus.click(&testid("recovery-done")).await.unwrap();

    // The same session now opens the conversation, and a message goes through.
    gus.wait_until(&connected()).await.unwrap();
    assert_eq!(gus.eval(&present("mfa-required")).await.unwrap(), json!(false));
    let text = "Set up and chatting";
    gus.type_into(&testid("composer"), text).await.unwrap();
    gus.click(&testid("send")).await.unwrap();
    gus.wait_until(&format!(
        "qa({}).some((m) => m.querySelector({})?.textContent === {} && m.dataset.seq === '1')",
        json!(testid("message")),
        json!(testid("message-body")),
        json!(text)
    ))
    .await
    .unwrap();

    assert_no_csp_violations(&gus).await;
    gus.close().await.unwrap();
}
