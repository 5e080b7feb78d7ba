//! Forgotten passwords against the real server and a local SMTP sink.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::smtp::SmtpSink;
use support::{ORIGIN, PASSWORD, SITE, TestApp};

const NEW_PASSWORD: &str = "an entirely new passphrase";

async fn app_with_mail() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await.unwrap();
    let url = sink.url();
    let app = TestApp::spawn_configured(move |config| {
        config.smtp_url = Some(palisade_server::config::Secret::new(url));
        config.mail_from = "Acme Chat <chat@acme.example>".into();
    })
    .await;
    (app, sink)
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

/// The token in the one reset link of `text`.
fn token_in(text: &str) -> String {
    let marker = "https://acme.example/help#palisade-reset=";
    let start = text.find(marker).unwrap_or_else(|| panic!("no reset link in {text}")) + marker.len();
    text[start..start + 64].to_owned()
}

#[tokio::test]
async fn a_reset_link_is_mailed_only_to_real_accounts_and_the_answer_is_the_same() {
    let (app, sink) = app_with_mail().await;
    app.token("ada@example.org", "Ada").await;
    let real = forgot(&app, "ada@example.org", "https://acme.example/help#stale").await;
    let unknown = forgot(&app, "nobody@example.org", "https://acme.example/help").await;
    assert_eq!((real.status(), unknown.status()), (reqwest::StatusCode::ACCEPTED, reqwest::StatusCode::ACCEPTED));
    assert_eq!(real.text().await.unwrap(), unknown.text().await.unwrap());

    let mails = sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mails_now = sink.mails();
    assert_eq!(mails_now.len(), 1, "exactly one mail, to the real account: {mails:?}");
    assert_eq!(mails_now[0].to, vec!["ada@example.org".to_owned()]);
    assert!(mails_now[0].text.contains("within 30 minutes"));
    assert_eq!(token_in(&mails_now[0].text).len(), 64);
    let requested = app.audit_events("authn_password_reset_requested").await;
    assert!(!format!("{requested:?}").contains("nobody@example.org"), "the audit trail keeps no typed email");
}

#[tokio::test]
async fn a_link_sets_a_new_password_once_and_ends_every_session() {
    let (app, sink) = app_with_mail().await;
    let old_session = app.token("ada@example.org", "Ada").await;
    forgot(&app, "ada@example.org", "https://acme.example/help").await;
    let token = token_in(&sink.wait_for(1).await[0].text);

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
    let (app, sink) = app_with_mail().await;
    let token = app.token("ada@example.org", "Ada").await;
    let enrollment: palisade_protocol::mfa::TotpEnrollment =
        app.http.post(app.url("/api/v1/auth/mfa/totp")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let secret = support::totp_secret(&enrollment.secret);
    let code = format!("{:06}", secret.code_at(support::totp_step_now()));
    let confirm =
        app.http.post(app.url("/api/v1/auth/mfa/totp/confirm")).bearer_auth(&token).json(&json!({"code": code}));
    assert_eq!(confirm.send().await.unwrap().status(), 200);

    forgot(&app, "ada@example.org", "https://acme.example/help").await;
    let link = token_in(&sink.wait_for(1).await[0].text);
    assert_eq!(reset(&app, &link, NEW_PASSWORD).await.status(), 204);
    assert_eq!(login(&app, NEW_PASSWORD).await, 202, "the new password still needs the authenticator");
}

#[tokio::test]
async fn links_lead_only_to_allowed_pages_and_need_mail_configured() {
    let (app, sink) = app_with_mail().await;
    app.token("ada@example.org", "Ada").await;
    let foreign = forgot(&app, "ada@example.org", "https://evil.example/phish").await;
    assert_eq!(foreign.status(), 422);
    assert!(sink.mails().is_empty());
    assert_eq!(reset(&app, "not-a-token", NEW_PASSWORD).await.status(), 401);
    assert_eq!(login(&app, PASSWORD).await, 200);

    let without_mail = TestApp::spawn().await;
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
