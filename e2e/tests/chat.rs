//! Two people on the demo host page: one sends, the other sees it appear live.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{alice_and_bob, assert_no_csp_violations};
use palisade_e2e::{Driver, Stack, testid};
use serde_json::json;

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
    let (alice, bob) = alice_and_bob(&stack, &driver).await;

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
        assert_no_csp_violations(browser).await;
    }

    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
