//! A forgotten password in the widget: "Forgot password?" mails a link to the host page, the
//! link opens the widget on a new-password form (and leaves the address bar at once), the new
//! password signs in, and the link works only once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_no_csp_violations, connected, open_widget, present, register};
use palisade_e2e::smtp::SmtpSink;
use palisade_e2e::{Driver, Stack, testid};
use serde_json::json;
const NEW_PASSWORD: &str = "an entirely new passphrase";

/// The link in a reset mail: the host page with the token in its fragment.
fn reset_link(mail: &str, page: &str) -> String {
    let start = mail.find(page).expect("the link leads to the host page");
    let link: String = mail[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.starts_with(&format!("{page}#palisade-reset=")), "{link}");
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailed_link_opens_the_widget_on_a_new_password_form() {
    let sink = SmtpSink::start().await.unwrap();
    let smtp_url = sink.url();
    let stack = Stack::start_with(move |config| {
        config.smtp_url = Some(palisade_server::config::Secret::new(smtp_url));
        config.mail_from = "Palisade demo <chat@demo.example>".into();
    })
    .await
    .unwrap();
    let driver = Driver::start().unwrap();
    let gus = driver.browser("gus").await.unwrap();

    open_widget(&gus, Some(&stack.host_page_url)).await;
    register(&gus, "gus@example.org", "Gus").await;
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

    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "one reset mail");
    assert_eq!(mails[0].to, ["gus@example.org"]);
    let link = reset_link(&mails[0].text, &stack.host_page_url);

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
