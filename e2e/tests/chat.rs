//! Two people on the demo host page: one sends, the other sees it appear live.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

async fn open_widget(browser: &Browser, page: &str) {
    browser.goto(page).await.unwrap();
    browser.wait_until(&format!("q({})", json!(testid("launcher")))).await.unwrap();
    browser.click(&testid("launcher")).await.unwrap();
    browser.wait_until(&format!("q({})", json!(testid("auth-form")))).await.unwrap();
}

async fn register(browser: &Browser, email: &str, name: &str) {
    let display_name = testid("display-name");
    if browser.eval(&format!("q({}) === null", json!(display_name))).await.unwrap() == json!(true) {
        browser.click(&testid("auth-mode-toggle")).await.unwrap();
        browser.wait_until(&format!("q({})", json!(display_name))).await.unwrap();
    }
    browser.type_into(&testid("email"), email).await.unwrap();
    browser.type_into(&testid("password"), PASSWORD).await.unwrap();
    browser.type_into(&display_name, name).await.unwrap();
    browser.click(&testid("auth-submit")).await.unwrap();
    browser.wait_until(&format!("q({})?.dataset.state === 'open'", json!(testid("connection-state")))).await.unwrap();
}

fn message_with_body(text: &str) -> String {
    format!(
        "qa({}).find((m) => m.querySelector({})?.textContent === {})",
        json!(testid("message")),
        json!(testid("message-body")),
        json!(text)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_from_one_widget_appears_live_in_another() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let alice = driver.browser("alice").await.unwrap();
    let bob = driver.browser("bob").await.unwrap();

    open_widget(&alice, &stack.host_page_url).await;
    open_widget(&bob, &stack.host_page_url).await;
    register(&alice, "alice@example.org", "Alice").await;
    register(&bob, "bob@example.org", "Bob").await;

    // Markup in a message must arrive as text, never as elements.
    let text = "Hello Bob, <b>this is not bold</b> <img src=x onerror=alert(1)>";
    alice.type_into(&testid("composer"), text).await.unwrap();
    alice.click(&testid("send")).await.unwrap();

    let arrived = message_with_body(text);
    bob.wait_until(&arrived).await.unwrap();
    let rendered = bob
        .eval(&format!("(() => {{ const m = {arrived}; const b = m.querySelector({}); return {{ children: b.children.length, author: m.querySelector({})?.textContent, seq: m.dataset.seq }}; }})()",
            json!(testid("message-body")), json!(testid("message-author"))))
        .await
        .unwrap();
    assert_eq!(rendered["children"], 0, "the body must be a text node only: {rendered}");
    assert_eq!(rendered["author"], "Alice");
    assert_eq!(rendered["seq"], "1");

    // The sender's own copy is acknowledged: stored, with its sequence number.
    alice.wait_until(&format!("{}?.dataset.seq === '1'", message_with_body(text))).await.unwrap();

    // And the page's strict CSP was never violated on either side.
    for browser in [&alice, &bob] {
        let violations = browser
            .eval("document.documentElement.dataset.cspViolations ?? 'not counted: demo.js did not run'")
            .await
            .unwrap();
        assert_eq!(violations, "0", "CSP violations on the host page");
    }

    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
