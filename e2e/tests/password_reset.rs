//! A forgotten password in the widget: "Forgot password?" mails a link to the host page, the
//! link opens the widget on a new-password form (and leaves the address bar at once), the new
//! password signs in, and the link works only once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_no_csp_violations, connected, mailed_link, open_widget, present, register};
use palisade_e2e::{Driver, Stack, testid};
use serde_json::json;
const NEW_PASSWORD: &str = "an entirely new passphrase";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailed_link_opens_the_widget_on_a_new_password_form() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let gus = driver.browser("gus").await.unwrap();

    open_widget(&gus, Some(&stack.host_page_url)).await;
    register(&stack, &gus, "gus@example.org", "Gus").await;
    gus.click(&testid("sign-out")).await.unwrap();
    gus.wait_until(&present("auth-form")).await.unwrap();

    // Asking for a link: the answer says nothing about whether the email has an account.
    gus.click(&testid("forgot-password")).await.unwrap();
    gus.wait_until(&present("forgot-submit")).await.unwrap();
    gus.type_into(&testid("email"), "gus@example.org").await.unwrap();
    gus.click(&testid("forgot-submit")).await.unwrap();
    gus.wait_until(&present("auth-info")).await.unwrap();
    let sent = gus.text(&testid("auth-info")).await.unwrap().unwrap();
    assert!(sent.starts_with("If an account uses this email"), "{sent}");

    // Gus's first mail was his sign-up link; the second is the reset link.
    let link = mailed_link(&stack, "gus@example.org", 2, "palisade-reset").await;

    // The link opens the panel on the new-password form, and the token leaves the address bar.
    gus.goto("about:blank").await.unwrap();
    gus.goto(&link).await.unwrap();
    gus.wait_until(&present("reset-password")).await.unwrap();
    assert_eq!(gus.eval("location.href").await.unwrap(), json!(stack.host_page_url));
    gus.type_into(&testid("reset-password"), NEW_PASSWORD).await.unwrap();
    gus.click(&testid("reset-submit")).await.unwrap();
    gus.wait_until(&format!("{} && {}", present("auth-info"), present("auth-submit"))).await.unwrap();
    let changed = gus.text(&testid("auth-info")).await.unwrap().unwrap();
    assert!(changed.contains("password has been changed"), "{changed}");

    gus.type_into(&testid("email"), "gus@example.org").await.unwrap();
    gus.type_into(&testid("password"), NEW_PASSWORD).await.unwrap();
    gus.click(&testid("auth-submit")).await.unwrap();
    gus.wait_until(&connected()).await.unwrap();
    gus.click(&testid("sign-out")).await.unwrap();
    gus.wait_until(&present("auth-form")).await.unwrap();
    assert_no_csp_violations(&gus).await;

    // The same link again: spent, and said so.
    gus.goto("about:blank").await.unwrap();
    gus.goto(&link).await.unwrap();
    gus.wait_until(&present("reset-password")).await.unwrap();
    gus.type_into(&testid("reset-password"), "yet another long passphrase").await.unwrap();
    gus.click(&testid("reset-submit")).await.unwrap();
    gus.wait_until(&present("auth-error")).await.unwrap();
    let dead = gus.text(&testid("auth-error")).await.unwrap().unwrap();
    assert!(dead.contains("expired or was already used"), "{dead}");

    assert_no_csp_violations(&gus).await;
    gus.close().await.unwrap();
}
