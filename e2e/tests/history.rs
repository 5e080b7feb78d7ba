//! Older history: a conversation longer than a page of history opens on its newest messages,
//! and scrolling up to the top loads the earlier ones while the reader keeps their place; the
//! day's heading moves up with them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::num::NonZeroU32;

use common::{PASSWORD, assert_no_csp_violations, connected, open_widget, register};
use palisade_e2e::{Driver, Stack, testid};
use palisade_protocol::limits::HISTORY_PAGE_DEFAULT;
use serde_json::json;

/// More than one page of history, and not a whole number of pages.
const SENT: u32 = HISTORY_PAGE_DEFAULT + 20;

/// Sends `count` messages to the site's first room as the person with `email`, from the host
/// page's own script over a socket of its own: far quicker than typing them, and through the
/// same API the widget uses. Resolves to how many were acknowledged.
fn send_from_the_page(chat_origin: &str, email: &str, count: u32) -> String {
    let origin = json!(chat_origin);
    let socket = json!(format!("{}/api/v1/ws?site=demo", chat_origin.replacen("https://", "wss://", 1)));
    let login = json!(json!({"site": "demo", "email": email, "password": PASSWORD}).to_string());
    format!(
        "(async () => {{ \
           const signedIn = await fetch({origin} + '/api/v1/auth/login', {{ method: 'POST', credentials: 'omit', \
             headers: {{ 'content-type': 'application/json' }}, body: {login} }}); \
           const {{ access_token }} = await signedIn.json(); \
           const listed = await fetch({origin} + '/api/v1/rooms', {{ credentials: 'omit', \
             headers: {{ authorization: 'Bearer ' + access_token }} }}); \
           const room = (await listed.json()).rooms[0].id; \
           const ws = new WebSocket({socket}); \
           await new Promise((opened) => {{ ws.onopen = opened; }}); \
           ws.send(JSON.stringify({{ type: 'auth', access_token }})); \
           let acked = 0; \
           await new Promise((done) => {{ ws.onmessage = (event) => {{ \
             const frame = JSON.parse(event.data); \
             if (frame.type === 'ready') {{ \
               for (let i = 1; i <= {count}; i++) {{ \
                 ws.send(JSON.stringify({{ type: 'send', room, client_id: crypto.randomUUID(), body: 'message ' + i }})); \
               }} \
             }} else if (frame.type === 'ack' && ++acked === {count}) {{ done(); }} \
             else if (frame.type === 'error') {{ done(); }} \
           }}; }}); \
           ws.close(); \
           return acked; \
         }})()"
    )
}

/// The scrolling box of the conversation (other views have their own).
const SCROLLER: &str = "q('[data-testid=\"message-list\"]').closest('.scroller')";

fn message(seq: u32) -> String {
    format!("{}[data-seq=\"{seq}\"]", testid("message"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrolling_up_to_the_top_loads_earlier_messages_in_place() {
    // The page sends its messages at once, which the default burst of 30 would refuse.
    let stack = Stack::start_with(|config| config.message_burst = NonZeroU32::new(SENT + 10).unwrap()).await.unwrap();
    let driver = Driver::start().unwrap();
    let ada = driver.browser("ada").await.unwrap();
    open_widget(&ada, Some(&stack.host_page_url)).await;
    register(&stack, &ada, "ada@example.org", "Ada").await;
    let acked = ada.eval(&send_from_the_page(&stack.chat_origin, "ada@example.org", SENT)).await.unwrap();
    assert_eq!(acked, json!(SENT));

    // Opened again, the conversation shows its newest page.
    open_widget(&ada, None).await;
    ada.wait_until(&connected()).await.unwrap();
    let first_shown = SENT - HISTORY_PAGE_DEFAULT + 1;
    ada.wait_until(&format!("q({}) !== null", json!(message(SENT)))).await.unwrap();
    assert_eq!(
        ada.eval(&format!("qa({}).length", json!(testid("message")))).await.unwrap(),
        json!(HISTORY_PAGE_DEFAULT)
    );
    assert_eq!(ada.eval(&format!("q({}) !== null", json!(message(first_shown)))).await.unwrap(), json!(true));

    // At the bottom: the panel was closed while the history loaded, which must not leave the
    // conversation on its oldest message.
    ada.wait_until(&format!(
        "(() => {{ const s = {SCROLLER}; return s.scrollHeight - s.scrollTop - s.clientHeight < 2; }})()"
    ))
    .await
    .unwrap();

    // Scrolled up to the top (no click): the earlier messages come, and the message that was
    // at the top stays in view rather than the list jumping to its new top.
    ada.eval(&format!("({SCROLLER}.scrollTop = 0, true)")).await.unwrap();
    ada.wait_until(&format!("qa({}).length === {SENT}", json!(testid("message")))).await.unwrap();
    ada.wait_until(&format!(
        "(() => {{ const scroller = {SCROLLER}; const box = scroller.getBoundingClientRect(); \
           const top = q({}).getBoundingClientRect().top; \
           return scroller.scrollTop > 0 && top >= box.top - 1 && top < box.bottom; }})()",
        json!(message(first_shown))
    ))
    .await
    .unwrap();
    let seqs = ada.eval(&format!("qa({}).map((m) => Number(m.dataset.seq))", json!(testid("message")))).await.unwrap();
    assert_eq!(seqs, json!((1..=SENT).collect::<Vec<_>>()), "every message once, oldest first");
    // All of it was written today: one heading, before the first message.
    let headings = ada
        .eval(&format!("qa({}).map((h) => [h.textContent, h.nextElementSibling?.dataset.seq])", json!(testid("day"))))
        .await
        .unwrap();
    assert_eq!(headings, json!([["Today", "1"]]));
    assert_no_csp_violations(&ada).await;
}
