//! `data-notify`: a count in the page's title and a chime for messages that arrive while the
//! panel is closed, only where the site owner asked for them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{alice_and_bob, assert_no_csp_violations, connected, open_widget};
use palisade_e2e::{Browser, testid};
use serde_json::json;

const TITLE: &str = "Northwind Tea Co. · Palisade demo";

/// Counts the oscillators the widget starts. The method is patched on the prototype, which
/// every call looks up afresh; the glue keeps its own reference to `AudioContext` itself.
const COUNT_TONES: &str = "window.tones = 0; \
    const create = BaseAudioContext.prototype.createOscillator; \
    BaseAudioContext.prototype.createOscillator = function () { window.tones += 1; return create.call(this); };";

async fn send(browser: &Browser, text: &str) {
    browser.type_into(&testid("composer"), text).await.unwrap();
    browser.click(&testid("send")).await.unwrap();
}

/// Reloads `browser` on the host page with `query`, signed in and connected, with the panel
/// closed.
async fn reopen_closed(browser: &Browser, page: &str) {
    open_widget(browser, Some(page)).await;
    browser.wait_until(&connected()).await.unwrap();
    browser.eval("Palisade.close()").await.unwrap();
    browser.wait_until("q('#palisade-panel')?.hidden === true").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_title_counts_and_the_chime_sounds_only_where_asked_and_only_while_closed() {
    let stack = palisade_e2e::Stack::start().await.unwrap();
    let driver = palisade_e2e::Driver::start().unwrap();
    let (alice, bob) = alice_and_bob(&stack, &driver).await;
    reopen_closed(&bob, &format!("{}?data-notify=title", stack.host_page_url)).await;
    reopen_closed(&alice, &format!("{}?data-notify=sound", stack.host_page_url)).await;
    alice.client.execute(COUNT_TONES, vec![]).await.unwrap();
    assert_eq!(bob.eval("document.title").await.unwrap(), TITLE);

    // Alice writes twice with her panel open; Bob's closed panel counts them in his title.
    alice.eval("Palisade.open()").await.unwrap();
    send(&alice, "Are you there?").await;
    bob.wait_until(&format!("document.title === {}", json!(format!("(1) {TITLE}")))).await.unwrap();
    send(&alice, "Hello?").await;
    bob.wait_until(&format!("document.title === {}", json!(format!("(2) {TITLE}")))).await.unwrap();
    // Her own messages, into her own open panel, neither chime nor touch her title.
    assert_eq!(alice.eval("window.tones").await.unwrap(), 0);
    assert_eq!(alice.eval("document.title").await.unwrap(), TITLE);

    // Opening the panel gives the page its own title back.
    bob.eval("Palisade.open()").await.unwrap();
    bob.wait_until(&format!("document.title === {}", json!(TITLE))).await.unwrap();

    // Bob answers while Alice's panel is closed: she hears a chime (two tones), and her title,
    // not asked for, stays the page's.
    alice.eval("Palisade.close()").await.unwrap();
    alice.wait_until("q('#palisade-panel')?.hidden === true").await.unwrap();
    send(&bob, "Yes, here").await;
    alice.wait_until("window.tones === 2").await.unwrap();
    assert_eq!(alice.eval("document.title").await.unwrap(), TITLE);
    // Bob's own message, in his open panel, leaves his title alone.
    assert_eq!(bob.eval("document.title").await.unwrap(), TITLE);

    for browser in [&alice, &bob] {
        assert_no_csp_violations(browser).await;
    }
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
