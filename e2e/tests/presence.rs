//! Whether the other person in a conversation is online: known from the site's list when the
//! widget connects, then kept current live, shown as a dot and said to screen readers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{accessible_text, connected, enabled, open_widget, register};
use palisade_e2e::{Driver, Stack, testid};
use palisade_protocol::roles::Role;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_whether_the_person_asking_is_still_there() {
    let stack = Stack::start().await.unwrap();
    stack.require_mfa_of(&[]).unwrap();
    let driver = Driver::start().unwrap();
    let mia = driver.browser("mia").await.unwrap();
    let sam = driver.browser("sam").await.unwrap();
    open_widget(&mia, Some(&stack.host_page_url)).await;
    open_widget(&sam, Some(&stack.host_page_url)).await;
    register(&stack, &mia, "mia@example.org", "Mia").await;
    register(&stack, &sam, "sam@example.org", "Sam").await;
    mia.wait_until(&connected()).await.unwrap();
    mia.click(&testid("rooms")).await.unwrap();
    mia.wait_until(&enabled("new-support")).await.unwrap();
    mia.click(&testid("new-support")).await.unwrap();
    mia.wait_until(&enabled("composer")).await.unwrap();

    // Sam comes back as a moderator after Mia came online: what he knows of her comes from
    // the site's list, fetched as his socket became ready.
    stack.set_role("sam@example.org", Role::Moderator).unwrap();
    open_widget(&sam, None).await;
    sam.wait_until(&connected()).await.unwrap();
    sam.click(&testid("rooms")).await.unwrap();
    let entry = format!("{}[data-kind=\"support\"]", testid("room"));
    let dot = format!("q({})", json!(format!("{entry} {}", testid("presence"))));
    sam.wait_until(&format!("{dot}?.dataset.online === 'true'")).await.unwrap();
    assert_eq!(sam.eval(&accessible_text(&entry)).await.unwrap(), "Support · Mia, online");
    // The dot is drawn, not only written: it differs in fill, not in colour alone.
    let filled = format!("getComputedStyle({dot}).backgroundColor");
    let online_fill = sam.eval(&filled).await.unwrap();

    // Mia leaves: Sam's open list says so at once, without a reload.
    mia.close().await.unwrap();
    sam.wait_until(&format!("{dot}?.dataset.online === 'false'")).await.unwrap();
    assert_eq!(sam.eval(&accessible_text(&entry)).await.unwrap(), "Support · Mia, offline");
    assert_ne!(sam.eval(&filled).await.unwrap(), online_fill);

    // Sam's own conversations with no one person on the other side carry no dot.
    let dots = sam.eval(&format!("qa({}).length", json!(testid("presence")))).await.unwrap();
    assert_eq!(dots, 1);
    common::assert_no_csp_violations(&sam).await;
    sam.close().await.unwrap();
}
