//! Signing up by email link, against the real server and a local SMTP sink: the answer never
//! says whether an email has an account, and only the mailbox's reader chooses the password.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use palisade_protocol::auth::{RESET_FRAGMENT, SIGN_UP_FRAGMENT, TokenResponse};
use serde_json::{Value, json};
use support::{OTHER_SITE, PASSWORD, SITE, TestApp};

fn detail(event: &palisade_store::audit::AuditRecord) -> Value {
    serde_json::from_str(&event.details).unwrap()
}

/// What `POST /auth/register` answered: status, headers that could differ, body.
async fn answer(response: reqwest::Response) -> (u16, Option<String>, String) {
    let status = response.status().as_u16();
    let cookie = response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned());
    (status, cookie, response.text().await.unwrap())
}

#[tokio::test]
async fn asking_answers_alike_for_new_and_existing_emails_and_only_the_mail_differs() {
    let app = TestApp::spawn().await;
    app.token("ada@example.org", "Ada").await;
    let existing = answer(app.ask_sign_up(SITE, "ADA@example.org").await).await;
    let new = answer(app.ask_sign_up(SITE, "grace@example.org").await).await;
    assert_eq!(existing, new);
    assert_eq!(new, (202, None, String::new()));

    // Ada's second mail (to her address as the account has it) says she has an account and
    // offers a reset link, not a sign-up link.
    let note = app.mail.wait_for_mail_to("ada@example.org", 2).await.unwrap();
    assert!(note.text.contains("You already have one"), "{}", note.text);
    assert!(note.link(&format!("{}/help#{SIGN_UP_FRAGMENT}=", support::ORIGIN)).is_none());
    assert_eq!(app.mailed_token(SITE, "ada@example.org", 2, RESET_FRAGMENT).await.len(), 64);
    let invite = app.mail.wait_for_mail_to("grace@example.org", 1).await.unwrap();
    assert!(invite.text.contains("within 24 hours"), "{}", invite.text);
    assert_eq!(app.mailed_token(SITE, "grace@example.org", 1, SIGN_UP_FRAGMENT).await.len(), 64);

    let asked = app.audit_events_at_least("user_sign_up_requested", 3).await;
    assert_eq!(asked.len(), 3, "Ada's own sign-up, and the two above");
    assert!(!format!("{asked:?}").contains("grace@example.org"), "the audit trail keeps no typed email");
}

#[tokio::test]
async fn a_sign_up_link_creates_the_account_signs_in_and_works_once() {
    let app = TestApp::spawn().await;
    assert_eq!(app.ask_sign_up(SITE, "grace@example.org").await.status(), 202);
    let token = app.mailed_token(SITE, "grace@example.org", 1, SIGN_UP_FRAGMENT).await;
    // Nothing exists before the link is used: the password does not sign in.
    let login = json!({"site": SITE, "email": "grace@example.org", "password": PASSWORD});
    assert_eq!(app.post_json("/api/v1/auth/login", &login).await.status(), 401);

    let created = app.complete_sign_up(SITE, &token, "Grace", PASSWORD).await;
    assert_eq!(created.status(), 201);
    let cookie = created.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-palisade_refresh_acme="), "{cookie}");
    let signed_in: TokenResponse = created.json().await.unwrap();
    assert_eq!(app.get_authed("/api/v1/rooms", &signed_in.access_token).await.status(), 200);

    let again = app.complete_sign_up(SITE, &token, "Grace again", PASSWORD).await;
    assert_eq!(again.status(), 401);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
    tokio::time::sleep(Duration::from_millis(1100)).await; // the back-off of that first try
    assert_eq!(app.post_json("/api/v1/auth/login", &login).await.status(), 200);
    let created = app.audit_events("user_created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(detail(&created[0])["via"], "sign_up_link");
}

#[tokio::test]
async fn an_email_has_one_account_per_site_however_many_links_it_got() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        assert_eq!(app.ask_sign_up(SITE, "grace@example.org").await.status(), 202);
    }
    let first = app.mailed_token(SITE, "grace@example.org", 1, SIGN_UP_FRAGMENT).await;
    let second = app.mailed_token(SITE, "grace@example.org", 2, SIGN_UP_FRAGMENT).await;
    // A link of this site does not work on another.
    assert_eq!(app.complete_sign_up(OTHER_SITE, &second, "Grace", PASSWORD).await.status(), 401);
    assert_eq!(app.complete_sign_up(SITE, &second, "Grace", PASSWORD).await.status(), 201);
    assert_eq!(app.complete_sign_up(SITE, &first, "Grace 2", PASSWORD).await.status(), 401, "spent with the other");
    // The same email on another site is another person's account.
    assert_eq!(app.register(OTHER_SITE, "grace@example.org", "Grace").await.status(), 201);
}

#[tokio::test]
async fn one_address_gets_at_most_five_mails_an_hour() {
    let app = TestApp::spawn().await;
    for _ in 0..7 {
        assert_eq!(app.ask_sign_up(SITE, "victim@example.org").await.status(), 202, "the answer never changes");
    }
    app.mail.wait_for_mail_to("victim@example.org", 5).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.mail.mails_to("victim@example.org").len(), 5);
    let asked = app.audit_events_at_least("user_sign_up_requested", 7).await;
    assert_eq!(asked.iter().filter(|event| detail(event)["mailed"] == false).count(), 2);
    // Other addresses are not held up by it.
    assert_eq!(app.register(SITE, "grace@example.org", "Grace").await.status(), 201);
}

#[tokio::test]
async fn signing_up_needs_mail_and_refuses_links_that_are_not() {
    let app = TestApp::spawn().await;
    for bad in ["", "not-a-token", &"0".repeat(64)] {
        assert_eq!(app.complete_sign_up(SITE, bad, "Grace", PASSWORD).await.status(), 401, "{bad:?}");
    }
    let without_mail = TestApp::spawn_configured(|config| config.smtp_url = None).await;
    let refused = without_mail.ask_sign_up(SITE, "grace@example.org").await;
    assert_eq!(refused.status(), 503);
}
