//! Forgotten passwords against the real server and a local SMTP sink.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use palisade_protocol::auth::RESET_FRAGMENT;
use serde_json::{Value, json};
use support::{ORIGIN, PASSWORD, SITE, TestApp};

const NEW_PASSWORD: &str = "an entirely new passphrase";

async fn app_with_mail() -> TestApp {
    TestApp::spawn_configured(|config| config.mail_from = "Acme Chat <chat@acme.example>".into()).await
}

async fn forgot(app: &TestApp, email: &str, return_to: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/password/forgot", &json!({"site": SITE, "email": email, "return_to": return_to})).await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/password/reset", &json!({"site": SITE, "token": token, "new_password": password})).await
}

async fn login(app: &TestApp, password: &str) -> u16 {
    let body = json!({"site": SITE, "email": "ada@example.org", "password": password});
    app.post_json("/api/v1/auth/login", &body).await.status().as_u16()
}

/// The token of the reset link in Ada's `nth` mail (her first is the sign-up link).
async fn reset_token(app: &TestApp, nth: usize) -> String {
    app.mailed_token(SITE, "ada@example.org", nth, RESET_FRAGMENT).await
}

#[tokio::test]
async fn a_reset_link_is_mailed_only_to_real_accounts_and_the_answer_is_the_same() {
    let app = app_with_mail().await;
    app.token("ada@example.org", "Ada").await;
    let real = forgot(&app, "ada@example.org", "https://acme.example/help#stale").await;
    let unknown = forgot(&app, "nobody@example.org", "https://acme.example/help").await;
    assert_eq!((real.status(), unknown.status()), (reqwest::StatusCode::ACCEPTED, reqwest::StatusCode::ACCEPTED));
    assert_eq!(real.text().await.unwrap(), unknown.text().await.unwrap());

    assert_eq!(reset_token(&app, 2).await.len(), 64);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mails = app.mail.mails();
    assert_eq!(mails.len(), 2, "the sign-up mail and one reset mail, both to the real account: {mails:?}");
    assert!(mails.iter().all(|mail| mail.to == ["ada@example.org"]));
    assert!(mails[1].text.contains("within 30 minutes"));
    let requested = app.audit_events_at_least("authn_password_reset_requested", 2).await;
    assert_eq!(requested.len(), 2);
    assert!(!format!("{requested:?}").contains("nobody@example.org"), "the audit trail keeps no typed email");
}

#[tokio::test]
async fn a_link_sets_a_new_password_once_and_ends_every_session() {
    let app = app_with_mail().await;
    let old_session = app.token("ada@example.org", "Ada").await;
    forgot(&app, "ada@example.org", "https://acme.example/help").await;
    let token = reset_token(&app, 2).await;

    let weak = reset(&app, &token, "password12345").await;
    assert_eq!(weak.status(), 422, "policy applies to resets too");
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 204);
    assert_eq!(app.get_authed("/api/v1/rooms", &old_session).await.status(), 401, "every session ends");
    let again = reset(&app, &token, "yet another fine passphrase").await;
    assert_eq!(again.status(), 401, "a link works once");
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
    assert_eq!(login(&app, NEW_PASSWORD).await, 200);
    assert_eq!(app.audit_events("authn_password_change").await.len(), 1);
}

#[tokio::test]
async fn a_reset_never_skips_the_second_factor() {
    let app = app_with_mail().await;
    let token = app.token("ada@example.org", "Ada").await;
    let enrollment: palisade_protocol::mfa::TotpEnrollment =
        app.http.post(app.url("/api/v1/auth/mfa/totp")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let secret = support::totp_secret(&enrollment.secret);
    let code = format!("{:06}", secret.code_at(support::totp_step_now()));
    let confirm =
        app.http.post(app.url("/api/v1/auth/mfa/totp/confirm")).bearer_auth(&token).json(&json!({"code": code}));
    assert_eq!(confirm.send().await.unwrap().status(), 200);

    forgot(&app, "ada@example.org", "https://acme.example/help").await;
    let link = reset_token(&app, 2).await;
    assert_eq!(reset(&app, &link, NEW_PASSWORD).await.status(), 204);
    assert_eq!(login(&app, NEW_PASSWORD).await, 202, "the new password still needs the authenticator");
}

#[tokio::test]
async fn links_lead_only_to_allowed_pages_and_need_mail_configured() {
    let app = app_with_mail().await;
    app.token("ada@example.org", "Ada").await;
    let foreign = forgot(&app, "ada@example.org", "https://evil.example/phish").await;
    assert_eq!(foreign.status(), 422);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mail.mails().len(), 1, "only the sign-up mail");
    assert_eq!(reset(&app, "not-a-token", NEW_PASSWORD).await.status(), 401);
    assert_eq!(login(&app, PASSWORD).await, 200);

    let without_mail = TestApp::spawn_configured(|config| config.smtp_url = None).await;
    let refused = without_mail
        .http
        .post(without_mail.url("/api/v1/auth/password/forgot"))
        .header("origin", ORIGIN)
        .json(&json!({"site": SITE, "email": "ada@example.org", "return_to": "https://acme.example/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
}
