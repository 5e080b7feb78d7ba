//! What every e2e test does in the widget: open it on the host page, sign up or in, and check
//! that the host page's strict CSP saw no violation.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use palisade_auth::totp::{STEP_SECS, TotpSecret};
use palisade_e2e::{Browser, Stack, testid};
use serde_json::json;

pub const PASSWORD: &str = "correct horse battery staple";

pub fn present(id: &str) -> String {
    format!("q({}) !== null", json!(testid(id)))
}

/// The app has loaded and mounted. Until then the launcher is the loader's placeholder, which
/// the app replaces: a WebDriver reference to it goes stale at that moment.
pub fn started() -> String {
    "q('.palisade') !== null".to_owned()
}

pub fn connected() -> String {
    format!("q({})?.dataset.state === 'open'", json!(testid("connection-state")))
}

/// Present, not inside a hidden part of the panel, and not disabled: ready for a click.
pub fn enabled(id: &str) -> String {
    format!("q({0}) !== null && !q({0}).closest('[hidden]') && !q({0}).disabled", json!(testid(id)))
}

/// Loads the host page (or reloads it) and opens the panel, once the widget knows whether
/// someone is signed in.
pub async fn open_widget(browser: &Browser, page: Option<&str>) {
    match page {
        Some(page) => browser.goto(page).await.unwrap(),
        None => browser.reload().await.unwrap(),
    }
    browser.wait_until(&started()).await.unwrap();
    browser.click(&testid("launcher")).await.unwrap();
    browser
        .wait_until(&format!("({} || {}) && !{}", present("auth-form"), present("chat"), present("resuming")))
        .await
        .unwrap();
}

/// The link in the `nth` (1-based) mail to `email` that leads to the host page with
/// `fragment` (`palisade-sign-up` or `palisade-reset`).
pub async fn mailed_link(stack: &Stack, email: &str, nth: usize, fragment: &str) -> String {
    let mail = stack.mail.wait_for_mail_to(email, nth).await.unwrap_or_else(|| panic!("no mail {nth} to {email}"));
    let prefix = format!("{}#{fragment}=", stack.host_page_url);
    mail.link(&prefix).unwrap_or_else(|| panic!("no {fragment} link in {}", mail.text))
}

/// Signs up in the widget up to the point where the account exists: asks for the link, opens
/// it from the mail, chooses the name and password. Does not wait for what comes next.
pub async fn submit_sign_up(stack: &Stack, browser: &Browser, email: &str, name: &str) {
    // The form opens on signing in, which asks for a password; asking for a link does not.
    if browser.eval(&present("password")).await.unwrap() == json!(true) {
        browser.click(&testid("auth-mode-toggle")).await.unwrap();
        browser.wait_until(&format!("!({})", present("password"))).await.unwrap();
    }
    let nth = stack.mail.mails_to(email).len() + 1;
    browser.type_into(&testid("email"), email).await.unwrap();
    browser.click(&testid("auth-submit")).await.unwrap();
    browser.wait_until(&present("auth-info")).await.unwrap();
    let sent = browser.text(&testid("auth-info")).await.unwrap().unwrap();
    assert!(sent.starts_with(&format!("We sent a link to {email}")), "{sent}");

    let link = mailed_link(stack, email, nth, "palisade-sign-up").await;
    browser.goto("about:blank").await.unwrap();
    browser.goto(&link).await.unwrap();
    browser.wait_until(&present("launcher")).await.unwrap();
    browser.wait_until(&present("sign-up-submit")).await.unwrap();
    assert_eq!(
        browser.eval("location.href").await.unwrap(),
        json!(stack.host_page_url),
        "the token left the address bar"
    );
    browser.type_into(&testid("display-name"), name).await.unwrap();
    browser.type_into(&testid("password"), PASSWORD).await.unwrap();
    browser.click(&testid("sign-up-submit")).await.unwrap();
}

/// Signs up and waits for the chat's connection.
pub async fn register(stack: &Stack, browser: &Browser, email: &str, name: &str) {
    submit_sign_up(stack, browser, email, name).await;
    browser.wait_until(&connected()).await.unwrap();
}

pub async fn sign_in(browser: &Browser, email: &str, password: &str) {
    browser.type_into(&testid("email"), email).await.unwrap();
    browser.type_into(&testid("password"), password).await.unwrap();
    browser.click(&testid("auth-submit")).await.unwrap();
    browser.wait_until(&connected()).await.unwrap();
}

/// A message with this body is in the open conversation, acknowledged by the server (stored,
/// so numbered).
pub fn delivered(text: &str) -> String {
    format!(
        "qa({}).some((m) => m.querySelector({})?.textContent === {} && m.dataset.seq > 0)",
        json!(testid("message")),
        json!(testid("message-body")),
        json!(text)
    )
}

pub async fn assert_no_csp_violations(browser: &Browser) {
    let violations = browser
        .eval("document.documentElement.dataset.cspViolations ?? 'not counted: demo.js did not run'")
        .await
        .unwrap();
    assert_eq!(violations, "0", "CSP violations on the host page");
}

/// Alice and Bob, each in their own browser, signed up on the demo host page with the panel open.
pub async fn alice_and_bob(stack: &Stack, driver: &palisade_e2e::Driver) -> (Browser, Browser) {
    let alice = driver.browser("alice").await.unwrap();
    let bob = driver.browser("bob").await.unwrap();
    open_widget(&alice, Some(&stack.host_page_url)).await;
    open_widget(&bob, Some(&stack.host_page_url)).await;
    register(stack, &alice, "alice@example.org", "Alice").await;
    register(stack, &bob, "bob@example.org", "Bob").await;
    (alice, bob)
}

/// The authenticator key as the widget shows it.
pub fn totp_secret(base32: &str) -> TotpSecret {
    TotpSecret::from_base32(base32).expect("a 160-bit key in base32")
}

pub fn step_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / STEP_SECS
}

/// The authenticator app's code for a time step.
pub fn code(secret: &TotpSecret, step: u64) -> String {
    format!("{:06}", secret.code_at(step))
}

/// Sets up an authenticator from the account panel of a signed-in person and returns to the
/// chat; returns the key and the time step whose code confirmed it (so is spent).
pub async fn set_up_authenticator(browser: &Browser) -> (TotpSecret, u64) {
    browser.click(&testid("account")).await.unwrap();
    browser.wait_until(&enabled("mfa-setup")).await.unwrap();
    browser.click(&testid("mfa-setup")).await.unwrap();
    browser.wait_until(&present("totp-secret")).await.unwrap();
    let secret = totp_secret(&browser.text(&testid("totp-secret")).await.unwrap().unwrap());
    let step = step_now();
    browser.type_into(&testid("mfa-confirm-code"), &code(&secret, step)).await.unwrap();
    browser.click(&testid("mfa-confirm")).await.unwrap();
    browser.wait_until(&enabled("recovery-done")).await.unwrap();
    browser.click(&testid("recovery-done")).await.unwrap();
    browser.wait_until(&format!("q({})?.textContent.startsWith('On')", json!(testid("mfa-status")))).await.unwrap();
    browser.click(&testid("account-back")).await.unwrap();
    browser.wait_until(&connected()).await.unwrap();
    (secret, step)
}

/// The text a screen reader names an element by: its text, without what is `aria-hidden`.
pub fn accessible_text(selector: &str) -> String {
    format!(
        "(() => {{ const walk = (n) => n.nodeType === 3 ? n.textContent \
           : n.getAttribute?.('aria-hidden') === 'true' ? '' : Array.from(n.childNodes).map(walk).join(''); \
           return walk(q({})); }})()",
        json!(selector)
    )
}
