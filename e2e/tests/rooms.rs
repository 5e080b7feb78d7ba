//! Conversations in the widget: a person starts a support conversation and asks; a moderator,
//! whose widget is already open, sees it arrive in their list with an unread badge (whose count
//! is part of the button's accessible name), opens it, which marks it read, and replies; the
//! person sees them typing in a polite live region, then the reply, and that he has seen her
//! question. She then corrects her question
//! and takes back a later message, and he sees both changes live.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{accessible_text, assert_no_csp_violations, connected, enabled, open_widget, register};
use palisade_e2e::{Browser, Driver, Stack, testid};
use palisade_protocol::roles::Role;
use serde_json::json;

fn stored_message(text: &str, seq: u64) -> String {
    format!(
        "qa({}).some((m) => m.querySelector({})?.textContent === {} && m.dataset.seq === '{seq}')",
        json!(testid("message")),
        json!(testid("message-body")),
        json!(text)
    )
}

/// The list entry of the (only) support conversation.
fn support_entry() -> String {
    format!("{}[data-kind=\"support\"]", testid("room"))
}

/// At least `n` read markers stored: resource timing lists a request once its answer is in,
/// body and all (the widget reads even the bodies it has no use for, so its requests finish).
fn read_markers_stored(n: usize) -> String {
    format!(
        "performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/read') && e.responseStatus === 200).length >= {n}"
    )
}

/// The stored message `seq`, or something inside it.
fn message(seq: u64, inside: &str) -> String {
    format!("{}[data-seq=\"{seq}\"] {inside}", testid("message"))
}

/// The "seen by" line reads `text` under the stored message `seq`, and under no other.
fn seen_under(seq: u64, text: &str) -> String {
    format!(
        "q({})?.textContent === {} && qa({}).length === 1",
        json!(message(seq, &testid("seen"))),
        json!(text),
        json!(testid("seen"))
    )
}

/// What the widget shows in place of a deleted message (`timeline::DELETED_BODY`).
const DELETED_BODY: &str = "This message was deleted.";

async fn send(browser: &Browser, text: &str) {
    browser.type_into(&testid("composer"), text).await.unwrap();
    browser.click(&testid("send")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_request_reaches_staff_unread_and_the_answer_comes_back_typed() {
    let stack = Stack::start().await.unwrap();
    // A second factor for staff is another test's subject.
    stack.require_mfa_of(&[]).unwrap();
    let driver = Driver::start().unwrap();
    let mia = driver.browser("mia").await.unwrap();
    let sam = driver.browser("sam").await.unwrap();

    open_widget(&mia, Some(&stack.host_page_url)).await;
    open_widget(&sam, Some(&stack.host_page_url)).await;
    register(&stack, &mia, "mia@example.org", "Mia").await;
    register(&stack, &sam, "sam@example.org", "Sam").await;
    stack.set_role("sam@example.org", Role::Moderator).unwrap();
    // Sam comes back as a moderator (his socket reads the role as it opens) and waits.
    open_widget(&sam, None).await;
    sam.wait_until(&connected()).await.unwrap();

    // Mia starts a support conversation from the list; it opens, and she asks.
    mia.click(&testid("rooms")).await.unwrap();
    mia.wait_until(&enabled("new-support")).await.unwrap();
    mia.click(&testid("new-support")).await.unwrap();
    mia.wait_until(&format!(
        "{} && q({})?.textContent === 'Support'",
        enabled("composer"),
        json!(testid("room-title"))
    ))
    .await
    .unwrap();
    let question = "Hello, my order never arrived.";
    send(&mia, question).await;
    mia.wait_until(&stored_message(question, 1)).await.unwrap();

    // Without a reload, Sam's way to the list says something is unread elsewhere, and the list
    // says where: the new conversation reached his open widget live.
    let badge = format!("q({})", json!(testid("rooms-unread")));
    sam.wait_until(&format!("!{badge}.hidden && {badge}.textContent.trim() === '1'")).await.unwrap();
    let label = sam.eval(&format!("q({})?.getAttribute('aria-label')", json!(testid("rooms")))).await.unwrap();
    assert_eq!(label, "Conversations, 1 unread message elsewhere");
    sam.click(&testid("rooms")).await.unwrap();
    let entry = support_entry();
    sam.wait_until(&format!("q({})?.dataset.unread === '1'", json!(entry))).await.unwrap();
    assert_eq!(sam.eval(&accessible_text(&entry)).await.unwrap(), "Support · Mia, online, 1 unread message");
    assert_eq!(
        sam.eval(&format!("q({} + ' .badge')?.getAttribute('aria-hidden')", json!(entry))).await.unwrap(),
        "true",
        "the visible badge is not read out twice"
    );

    // Opening it shows the question and marks it read.
    sam.click(&entry).await.unwrap();
    sam.wait_until(&stored_message(question, 1)).await.unwrap();
    assert_eq!(sam.text(&testid("room-title")).await.unwrap().as_deref(), Some("Support · Mia"));
    sam.wait_until(&format!("{badge}.hidden")).await.unwrap();
    // Mia learns it live, though Sam was not yet in the conversation when she opened it.
    mia.wait_until(&seen_under(1, "Seen by Sam")).await.unwrap();

    // Sam types: Mia is told, politely, before the answer arrives.
    let answer = "Sorry about that, Mia: it ships again today.";
    sam.type_into(&testid("composer"), answer).await.unwrap();
    let typing = format!("q({})", json!(testid("typing")));
    mia.wait_until(&format!("{typing}?.textContent === 'Sam is typing…'")).await.unwrap();
    assert_eq!(mia.eval(&format!("{typing}.getAttribute('aria-live')")).await.unwrap(), "polite");
    sam.click(&testid("send")).await.unwrap();
    mia.wait_until(&stored_message(answer, 2)).await.unwrap();
    // The answer is what was being typed: the notice goes with it.
    mia.wait_until(&format!("{typing}?.textContent === ''")).await.unwrap();
    sam.wait_until(&stored_message(answer, 2)).await.unwrap();

    // Mia corrects her question and takes back a second message; Sam sees both changes live.
    // Only one's own stored messages offer the actions.
    let aside = "Also, can I change the address?";
    send(&mia, aside).await;
    sam.wait_until(&stored_message(aside, 3)).await.unwrap();
    mia.wait_until(&stored_message(aside, 3)).await.unwrap();
    // Her newest message is the one that says who has seen it.
    mia.wait_until(&seen_under(3, "Seen by Sam")).await.unwrap();
    assert_eq!(mia.eval(&format!("q({}) === null", json!(message(2, &testid("edit-message"))))).await.unwrap(), true);
    assert_eq!(sam.eval(&format!("q({}) === null", json!(message(1, &testid("edit-message"))))).await.unwrap(), true);
    mia.click(&message(1, &testid("edit-message"))).await.unwrap();
    let field = message(1, &testid("edit-field"));
    mia.wait_until(&format!("root.activeElement === q({})", json!(field))).await.unwrap();
    let corrected = "Hello, my order 1042 never arrived.";
    mia.clear(&field).await.unwrap();
    // U+E007 is WebDriver's Enter key, which saves.
    mia.type_into(&field, &format!("{corrected}\u{e007}")).await.unwrap();
    let edited = format!(
        "q({})?.textContent === {} && q({}) !== null",
        json!(message(1, &testid("message-body"))),
        json!(corrected),
        json!(message(1, &testid("message-edited")))
    );
    sam.wait_until(&edited).await.unwrap();
    mia.wait_until(&edited).await.unwrap();
    // Back from the editor, the focus is on the message's actions again.
    mia.wait_until(&format!("root.activeElement === q({})", json!(message(1, &testid("edit-message"))))).await.unwrap();

    mia.click(&message(3, &testid("delete-message"))).await.unwrap();
    // The question takes the focus on its safe answer.
    let confirm = message(3, &testid("delete-confirm"));
    mia.wait_until(&format!(
        "!q({0}).hidden && root.activeElement === q({1})",
        json!(confirm),
        json!(message(3, &testid("change-cancel")))
    ))
    .await
    .unwrap();
    mia.click(&confirm).await.unwrap();
    let deleted = format!(
        "q({})?.hasAttribute('data-deleted') && q({})?.textContent === {}",
        json!(format!("{}[data-seq=\"3\"]", testid("message"))),
        json!(message(3, &testid("message-body"))),
        json!(DELETED_BODY)
    );
    sam.wait_until(&deleted).await.unwrap();
    mia.wait_until(&deleted).await.unwrap();
    assert_eq!(sam.eval(&format!("q({}) === null", json!(message(3, &testid("message-edited"))))).await.unwrap(), true);

    // Opening the conversation marked the question read, and what came after it, on his
    // screen too, is read as well: the server stored the markers, so after a reload nothing
    // is unread for Sam.
    sam.wait_until(&read_markers_stored(2))
        .await
        .expect("no read marker stored: none sent, refused (CORS must allow PUT), or its answer left unread");
    open_widget(&sam, None).await;
    sam.wait_until(&connected()).await.unwrap();
    sam.click(&testid("rooms")).await.unwrap();
    sam.wait_until(&format!("q({})?.dataset.unread === '0'", json!(entry))).await.unwrap();
    assert_eq!(sam.eval(&format!("{badge}.hidden")).await.unwrap(), json!(true));

    for browser in [&mia, &sam] {
        assert_no_csp_violations(browser).await;
    }
    mia.close().await.unwrap();
    sam.close().await.unwrap();
}
