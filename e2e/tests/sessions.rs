//! Sessions in the widget: a reload keeps the person signed in (the partitioned refresh cookie
//! and the refresh on mount), signing out ends that, access tokens are renewed before they
//! expire, and the account panel lists the person's sessions, ends another device's and changes
//! the password.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{PASSWORD, assert_no_csp_violations, connected, open_widget, present, register, sign_in};
use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::json;
/// Long enough for the widget's own check, so only the server's estimator can refuse it.
const GUESSABLE: &str = "password12345";
const NEW_PASSWORD: &str = "a completely different passphrase";

/// Nothing the widget holds is readable by the host page: no storage, no script-visible cookie.
async fn assert_nothing_stored(browser: &Browser) {
    let stored = browser
        .eval("({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })")
        .await
        .unwrap();
    assert_eq!(stored, json!({ "local": 0, "session": 0, "cookie": "" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_person_signed_in_until_they_sign_out() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let carol = driver.browser("carol").await.unwrap();

    open_widget(&carol, Some(&stack.host_page_url)).await;
    assert!(carol.eval(&present("auth-form")).await.unwrap() == json!(true), "a first visit shows the form");
    register(&stack, &carol, "carol@example.org", "Carol").await;

    // The reloaded page has no token in memory: only the HttpOnly, partitioned refresh cookie
    // can have signed her in again, without the form.
    open_widget(&carol, None).await;
    carol.wait_until(&connected()).await.unwrap();
    assert_eq!(carol.eval(&present("auth-form")).await.unwrap(), json!(false));
    carol.wait_until(&format!("q({})?.textContent === 'Signed in as Carol'", json!(testid("whoami")))).await.unwrap();
    assert_nothing_stored(&carol).await;

    carol.click(&testid("sign-out")).await.unwrap();
    carol.wait_until(&present("auth-form")).await.unwrap();

    // Signing out ended the session on the server: a reload finds none.
    open_widget(&carol, None).await;
    assert_eq!(carol.eval(&present("auth-form")).await.unwrap(), json!(true));
    assert_eq!(carol.eval(&present("chat")).await.unwrap(), json!(false));

    assert_no_csp_violations(&carol).await;
    carol.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_panel_lists_sessions_ends_one_and_changes_the_password() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let dave = driver.browser("dave").await.unwrap();
    let laptop = driver.browser("dave-laptop").await.unwrap();

    open_widget(&dave, Some(&stack.host_page_url)).await;
    register(&stack, &dave, "dave@example.org", "Dave").await;

    dave.click(&testid("account")).await.unwrap();
    let sessions = format!("qa({})", json!(format!("{} {}", testid("session-list"), testid("session"))));
    dave.wait_until(&format!("{sessions}.length === 1")).await.unwrap();
    assert_eq!(dave.eval(&format!("{sessions}[0].dataset.current")).await.unwrap(), "true");
    assert_eq!(dave.eval(&format!("qa({}).length", json!(testid("end-session")))).await.unwrap(), 0);
    // Keyboard users land in the panel, on its heading.
    assert_eq!(dave.eval("root.activeElement?.textContent").await.unwrap(), "Your account");

    // A guessable password is refused, with the server's reason.
    let message = testid("account-message");
    dave.type_into(&testid("current-password"), PASSWORD).await.unwrap();
    dave.type_into(&testid("new-password"), GUESSABLE).await.unwrap();
    dave.click(&testid("change-password")).await.unwrap();
    dave.wait_until(&format!("q({})?.classList.contains('form-error')", json!(message))).await.unwrap();
    let refused = dave.text(&message).await.unwrap().unwrap();
    assert!(!refused.is_empty() && !refused.contains("changed"), "{refused}");
    dave.wait_until(&format!("!q({})?.disabled", json!(testid("change-password")))).await.unwrap();

    dave.clear(&testid("new-password")).await.unwrap();
    dave.type_into(&testid("new-password"), NEW_PASSWORD).await.unwrap();
    dave.click(&testid("change-password")).await.unwrap();
    dave.wait_until(&format!("q({})?.classList.contains('notice')", json!(message))).await.unwrap();
    let changed = dave.text(&message).await.unwrap().unwrap();
    assert!(changed.contains("password has been changed"), "{changed}");

    // Only the new password opens the account now; the laptop signs in with it.
    open_widget(&laptop, Some(&stack.host_page_url)).await;
    sign_in(&laptop, "dave@example.org", NEW_PASSWORD).await;

    // Back and forth reloads the list: two sessions, and the other one can be ended.
    dave.click(&testid("account-back")).await.unwrap();
    dave.wait_until(&format!("root.activeElement === q({})", json!(testid("account")))).await.unwrap();
    dave.click(&testid("account")).await.unwrap();
    dave.wait_until(&format!("{sessions}.length === 2")).await.unwrap();
    let current = dave.eval(&format!("{sessions}.map((s) => s.dataset.current)")).await.unwrap();
    let mut current: Vec<String> = serde_json::from_value(current).unwrap();
    current.sort();
    assert_eq!(current, ["false", "true"]);
    dave.click(&testid("end-session")).await.unwrap();
    dave.wait_until(&format!("{sessions}.length === 1")).await.unwrap();

    // The ended device's socket is closed by the server, and it returns to the sign-in form
    // instead of reconnecting.
    laptop.wait_until(&present("auth-form")).await.unwrap();
    let notice = laptop.eval("q('.notice')?.textContent ?? ''").await.unwrap();
    assert!(notice.as_str().unwrap_or_default().contains("session has ended"), "{notice}");

    for browser in [&dave, &laptop] {
        assert_no_csp_violations(browser).await;
    }
    dave.close().await.unwrap();
    laptop.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_access_tokens_are_renewed_without_the_person_noticing() {
    // Tokens live 4 s, so the widget renews every 2 s; the rate limit is raised for that.
    const TTL_SECS: u64 = 4;
    let stack = Stack::start_with(|config| {
        config.access_token_ttl_secs = TTL_SECS;
        config.auth_requests_per_minute = std::num::NonZeroU32::new(600).unwrap();
    })
    .await
    .unwrap();
    let driver = Driver::start().unwrap();
    let erin = driver.browser("erin").await.unwrap();

    open_widget(&erin, Some(&stack.host_page_url)).await;
    register(&stack, &erin, "erin@example.org", "Erin").await;
    // What is tested here is time passing: three lifetimes of the first token, so the refresh
    // cookie has rotated several times.
    let until = erin.eval("Date.now()").await.unwrap().as_f64().unwrap() + (3 * TTL_SECS * 1000) as f64;
    erin.wait_until(&format!("Date.now() > {until}")).await.unwrap();
    erin.wait_until(&connected()).await.unwrap();

    // The token the widget holds now still works for a request (the first one expired long
    // ago), the socket still delivers, and the rotated cookie chain is intact: a reload
    // resumes the same, single session.
    erin.click(&testid("account")).await.unwrap();
    let sessions = format!("qa({})", json!(format!("{} {}", testid("session-list"), testid("session"))));
    erin.wait_until(&format!("{sessions}.length === 1")).await.unwrap();
    erin.click(&testid("account-back")).await.unwrap();
    erin.type_into(&testid("composer"), "still here").await.unwrap();
    erin.click(&testid("send")).await.unwrap();
    erin.wait_until(&format!("qa({}).some((m) => m.dataset.seq === '1')", json!(testid("message")))).await.unwrap();
    open_widget(&erin, None).await;
    erin.wait_until(&connected()).await.unwrap();
    erin.click(&testid("account")).await.unwrap();
    erin.wait_until(&format!("{sessions}.length === 1")).await.unwrap();
    assert_eq!(erin.eval(&format!("{sessions}[0].dataset.current")).await.unwrap(), "true");

    assert_no_csp_violations(&erin).await;
    erin.close().await.unwrap();
}
