//! A network cut under two chatting widgets: both say they are reconnecting, what one person
//! writes meanwhile waits as pending, and once the network is back both reconnect by themselves,
//! the waiting messages go out, and the other person has every message once, in order, with no
//! gap in the sequence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{alice_and_bob, assert_no_csp_violations, connected};
use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::{Value, json};

/// Long enough to type a few messages while cut off, short enough that the widget's backoff
/// (doubling from half a second) is still in its first steps when the network comes back.
const HOLD: Duration = Duration::from_secs(3);

/// Every message in the widget's list, top to bottom: its body, its `seq` (null until stored)
/// and whether it is marked as pending.
fn messages() -> String {
    format!(
        "qa({}).map((m) => ({{ body: m.querySelector({})?.textContent ?? null, \
           seq: m.dataset.seq === undefined ? null : Number(m.dataset.seq), pending: m.hasAttribute('data-pending') }}))",
        json!(testid("message")),
        json!(testid("message-body"))
    )
}

/// True once the list holds at least `n` messages and none is pending any more.
fn settled(n: usize) -> String {
    format!("(() => {{ const all = {}; return all.length >= {n} && all.every((m) => !m.pending); }})()", messages())
}

fn stored(text: &str, seq: usize) -> String {
    format!("{}.some((m) => m.body === {} && m.seq === {seq})", messages(), json!(text))
}

fn connection_is(state: &str) -> String {
    format!("q({})?.dataset.state === {}", json!(testid("connection-state")), json!(state))
}

/// Sends with Enter (U+E007 in WebDriver), as a person typing quickly would.
async fn send(browser: &Browser, text: &str) {
    browser.type_into(&testid("composer"), &format!("{text}\u{e007}")).await.unwrap();
}

/// The list as it is now; the test fails if it is not exactly `expected`, every one stored with
/// `seq` 1, 2, 3… and none pending.
async fn assert_exactly(browser: &Browser, who: &str, expected: &[&str]) {
    let list = browser.eval(&messages()).await.unwrap();
    let want: Vec<Value> =
        expected.iter().enumerate().map(|(i, body)| json!({ "body": body, "seq": i + 1, "pending": false })).collect();
    assert_eq!(list, Value::Array(want), "{who}'s messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_network_cut_both_widgets_resume_and_nothing_is_lost_or_doubled() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let (alice, bob) = alice_and_bob(&stack, &driver).await;

    // A conversation both ways first, each message waited for on both sides so the order is
    // the one written here.
    let mut expected = Vec::new();
    for (from, text) in [
        (&alice, "Hi Bob, are you there?"),
        (&bob, "Yes, hello Alice."),
        (&alice, "My train is going into a tunnel."),
        (&bob, "Write anyway, it will arrive."),
    ] {
        send(from, text).await;
        expected.push(text);
        for browser in [&alice, &bob] {
            browser.wait_until(&stored(text, expected.len())).await.unwrap();
        }
    }

    let cut_at = Instant::now();
    let cut = stack.cut_network(HOLD).await;
    assert!(cut >= 2, "the relay cut {cut} connections, fewer than the two WebSockets");
    let reconnecting = format!(
        "{} && q({})?.textContent.includes('Reconnecting')",
        connection_is("reconnecting"),
        json!(testid("connection-state"))
    );
    for browser in [&alice, &bob] {
        browser.wait_until(&reconnecting).await.unwrap();
    }

    // In the tunnel: Alice writes on, and her messages wait, marked as pending.
    let offline = ["Still here?", "The tunnel is long.", "Almost out."];
    for text in offline {
        send(&alice, text).await;
        alice
            .wait_until(&format!(
                "{}.some((m) => m.body === {} && m.pending && m.seq === null)",
                messages(),
                json!(text)
            ))
            .await
            .unwrap();
    }
    let waiting = alice.eval(&format!("{}.filter((m) => m.pending).map((m) => m.body)", messages())).await.unwrap();
    assert_eq!(waiting, json!(offline), "Alice's messages waiting while cut off");
    assert_eq!(alice.eval(&reconnecting).await.unwrap(), json!(true));
    // Otherwise the network was back before the checks above and they proved nothing.
    assert!(cut_at.elapsed() < HOLD, "sending while cut off took {:?}, longer than the cut", cut_at.elapsed());
    expected.extend(offline);

    // Out of the tunnel: both reconnect on their own, and Alice's messages go out.
    for browser in [&alice, &bob] {
        browser.wait_until(&connected()).await.unwrap();
    }
    for browser in [&alice, &bob] {
        browser.wait_until(&settled(expected.len())).await.unwrap();
    }

    // One more message each way over the resumed connections: anything sent twice would have
    // arrived before them.
    let after = [(&bob, "Welcome back."), (&alice, "Thanks, all good.")];
    for (from, text) in after {
        send(from, text).await;
        expected.push(text);
        for browser in [&alice, &bob] {
            browser.wait_until(&stored(text, expected.len())).await.unwrap();
        }
    }
    assert_exactly(&bob, "Bob", &expected).await;
    assert_exactly(&alice, "Alice", &expected).await;

    for browser in [&alice, &bob] {
        assert_no_csp_violations(browser).await;
    }
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
