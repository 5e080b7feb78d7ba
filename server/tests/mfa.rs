//! The second factor against the real server: enrolment, sign-in with a code, replay refusal,
//! recovery codes, re-authentication for changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use palisade_auth::totp::TotpSecret;
use palisade_protocol::auth::TokenResponse;
use palisade_protocol::mfa::{MfaChallenge, MfaStatus, RecoveryCodes, TotpEnrollment};
use serde_json::{Value, json};
use support::{PASSWORD, SITE, TestApp};

const EMAIL: &str = "ada@example.org";

fn code(secret: &TotpSecret, step: u64) -> String {
    format!("{:06}", secret.code_at(step))
}

async fn post_bearer(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url(path)).bearer_auth(token).json(body).send().await.unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

async fn login(app: &TestApp) -> reqwest::Response {
    app.post_json("/api/v1/auth/login", &json!({"site": SITE, "email": EMAIL, "password": PASSWORD})).await
}

async fn challenge(app: &TestApp) -> String {
    let response = login(app).await;
    assert_eq!(response.status(), 202, "the password alone must not sign in");
    assert!(response.headers().get("set-cookie").is_none(), "no session before the second factor");
    response.json::<MfaChallenge>().await.unwrap().ticket
}

async fn verify(app: &TestApp, ticket: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/mfa/verify", &json!({"site": SITE, "ticket": ticket, "code": code})).await
}

/// Registers Ada and turns on an authenticator; returns her token, the secret and the recovery
/// codes, and the step the confirming code used.
async fn enrolled(app: &TestApp) -> (String, TotpSecret, Vec<String>, u64) {
    let token = app.token(EMAIL, "Ada").await;
    let enrollment: TotpEnrollment =
        post_bearer(app, "/api/v1/auth/mfa/totp", &token, &json!({})).await.json().await.unwrap();
    let secret = support::totp_secret(&enrollment.secret);
    let step = support::totp_step_now();
    let confirmed =
        post_bearer(app, "/api/v1/auth/mfa/totp/confirm", &token, &json!({"code": code(&secret, step)})).await;
    assert_eq!(confirmed.status(), 200);
    let codes = confirmed.json::<RecoveryCodes>().await.unwrap().codes;
    (token, secret, codes, step)
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_and_only_a_correct_code_turns_it_on() {
    let app = TestApp::spawn().await;
    let token = app.token(EMAIL, "Ada").await;
    let elsewhere = app.token_signed_in(EMAIL).await;
    let enrollment: TotpEnrollment =
        post_bearer(&app, "/api/v1/auth/mfa/totp", &token, &json!({})).await.json().await.unwrap();
    assert_eq!(enrollment.secret.len(), 32, "160 bits in base32");
    assert!(enrollment.otpauth_uri.starts_with("otpauth://totp/acme:Ada?secret="), "{}", enrollment.otpauth_uri);
    assert!(enrollment.otpauth_uri.contains(&enrollment.secret));
    let size = enrollment.qr.len();
    assert!(
        size >= 21 && enrollment.qr.iter().all(|row| row.len() == size && row.bytes().all(|b| b == b'0' || b == b'1'))
    );

    let secret = support::totp_secret(&enrollment.secret);
    let wrong = code(&secret, support::totp_step_now() + 5);
    let refused = post_bearer(&app, "/api/v1/auth/mfa/totp/confirm", &token, &json!({"code": wrong})).await;
    assert_eq!(error_of(refused).await, (401, "invalid_mfa_code".into()));
    let status: MfaStatus = app.get_authed("/api/v1/auth/mfa", &token).await.json().await.unwrap();
    assert!(!status.totp_enabled, "not on before a correct code");
    assert_eq!(login(&app).await.status(), 200, "sign-in still needs no code");

    let right = code(&secret, support::totp_step_now());
    let confirmed = post_bearer(&app, "/api/v1/auth/mfa/totp/confirm", &token, &json!({"code": right})).await;
    assert_eq!(confirmed.status(), 200);
    let codes = confirmed.json::<RecoveryCodes>().await.unwrap().codes;
    assert_eq!(codes.len(), 10);
    let status: MfaStatus = app.get_authed("/api/v1/auth/mfa", &token).await.json().await.unwrap();
    assert_eq!(status, MfaStatus { totp_enabled: true, recovery_codes_left: 10 });
    assert_eq!(app.get_authed("/api/v1/rooms", &elsewhere).await.status(), 401, "other sessions end");
    assert_eq!(app.get_authed("/api/v1/rooms", &token).await.status(), 200);
    let again = post_bearer(&app, "/api/v1/auth/mfa/totp", &token, &json!({})).await;
    assert_eq!(error_of(again).await, (409, "conflict".into()), "no silent replacement of a live authenticator");
}

#[tokio::test]
async fn sign_in_needs_a_fresh_code_and_no_code_works_twice() {
    let app = TestApp::spawn().await;
    let (_, secret, recovery, confirmed_step) = enrolled(&app).await;

    let ticket = challenge(&app).await;
    // The very code that confirmed enrolment is spent: replaying it fails.
    let replay = verify(&app, &ticket, &code(&secret, confirmed_step)).await;
    assert_eq!(error_of(replay).await, (401, "invalid_mfa_code".into()));
    tokio::time::sleep(Duration::from_millis(1100)).await; // the back-off after a failure
    let next = code(&secret, confirmed_step + 1);
    let signed_in = verify(&app, &ticket, &next).await;
    assert_eq!(signed_in.status(), 200);
    assert!(signed_in.headers()["set-cookie"].to_str().unwrap().starts_with("__Host-palisade_refresh_acme="));
    let token = signed_in.json::<TokenResponse>().await.unwrap().access_token;
    assert_eq!(app.get_authed("/api/v1/rooms", &token).await.status(), 200);
    let reused_ticket = verify(&app, &ticket, &code(&secret, confirmed_step + 1)).await;
    assert_eq!(error_of(reused_ticket).await, (401, "unauthenticated".into()), "a ticket signs in once");

    let ticket = challenge(&app).await;
    let replay = verify(&app, &ticket, &next).await;
    assert_eq!(error_of(replay).await, (401, "invalid_mfa_code".into()), "a code works once");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let with_recovery = verify(&app, &ticket, &recovery[0].to_lowercase()).await;
    assert_eq!(with_recovery.status(), 200, "a recovery code stands in for the app");

    let ticket = challenge(&app).await;
    let spent = verify(&app, &ticket, &recovery[0]).await;
    assert_eq!(error_of(spent).await, (401, "invalid_mfa_code".into()), "a recovery code works once");
    assert!(!app.audit_events("authn_mfa_fail").await.is_empty());
}

#[tokio::test]
async fn a_ticket_dies_after_five_wrong_codes() {
    let app = TestApp::spawn().await;
    let (_, secret, _, step) = enrolled(&app).await;
    let ticket = challenge(&app).await;
    for attempt in 0..5_u8 {
        // Each guess from another network, so the per-network back-off does not get in the
        // way: only the ticket's own limit is tested.
        let source = std::net::IpAddr::from([127, 20 + attempt, 0, 1]);
        let client = reqwest::Client::builder().local_address(source).build().unwrap();
        let wrong = client
            .post(app.url("/api/v1/auth/mfa/verify"))
            .header("origin", support::ORIGIN)
            .json(&json!({"site": SITE, "ticket": ticket, "code": "000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "attempt {attempt}");
    }
    let too_late = verify(&app, &ticket, &code(&secret, step + 1)).await;
    assert_eq!(error_of(too_late).await, (401, "unauthenticated".into()));
}

#[tokio::test]
async fn turning_it_off_or_replacing_codes_needs_the_password() {
    let app = TestApp::spawn().await;
    let (token, _, old_codes, _) = enrolled(&app).await;
    let wrong =
        post_bearer(&app, "/api/v1/auth/mfa/recovery-codes", &token, &json!({"password": "wrong password here"})).await;
    assert_eq!(error_of(wrong).await, (401, "invalid_credentials".into()));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = post_bearer(&app, "/api/v1/auth/mfa/recovery-codes", &token, &json!({"password": PASSWORD})).await;
    assert_eq!(fresh.status(), 200);
    let new_codes = fresh.json::<RecoveryCodes>().await.unwrap().codes;
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
    let ticket = challenge(&app).await;
    assert_eq!(verify(&app, &ticket, &old_codes[1]).await.status(), 401, "old codes stop working");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let wrong =
        post_bearer(&app, "/api/v1/auth/mfa/totp/disable", &token, &json!({"password": "wrong password here"})).await;
    assert_eq!(wrong.status(), 401);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let off = post_bearer(&app, "/api/v1/auth/mfa/totp/disable", &token, &json!({"password": PASSWORD})).await;
    assert_eq!(off.status(), 204);
    assert_eq!(login(&app).await.status(), 200, "the password alone signs in again");
}

#[tokio::test]
async fn staff_without_a_second_factor_must_set_one_up_before_anything_else() {
    let app = TestApp::spawn().await;
    app.token(EMAIL, "Ada").await;
    let (ok, out) = app.cli(&["user", "role", "--role", "admin", "--site", SITE, "--email", EMAIL]);
    assert!(ok, "{out}");

    let signed_in: TokenResponse = login(&app).await.json().await.unwrap();
    assert!(signed_in.mfa_enrolment_required, "admins must use a second factor by default");
    let token = signed_in.access_token;
    let refused = app.get_authed("/api/v1/rooms", &token).await;
    assert_eq!(error_of(refused).await, (403, "mfa_enrolment_required".into()));
    let mut socket = app.ws_raw(SITE, Some(support::ORIGIN)).await.unwrap();
    socket.send(&palisade_protocol::ws::ClientFrame::Auth { access_token: token.clone() }).await;
    match socket.recv().await {
        palisade_protocol::ws::ServerFrame::Error { error, .. } => {
            assert_eq!(error, palisade_protocol::ErrorCode::MfaEnrolmentRequired);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(app.get_authed("/api/v1/auth/sessions", &token).await.status(), 200, "sessions stay visible");

    let enrollment: TotpEnrollment =
        post_bearer(&app, "/api/v1/auth/mfa/totp", &token, &json!({})).await.json().await.unwrap();
    let secret = support::totp_secret(&enrollment.secret);
    let confirmed = post_bearer(
        &app,
        "/api/v1/auth/mfa/totp/confirm",
        &token,
        &json!({"code": code(&secret, support::totp_step_now())}),
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    assert_eq!(app.get_authed("/api/v1/rooms", &token).await.status(), 200, "the same session is free now");
    let off = post_bearer(&app, "/api/v1/auth/mfa/totp/disable", &token, &json!({"password": PASSWORD})).await;
    assert_eq!(error_of(off).await, (403, "forbidden".into()), "an admin cannot turn it off");
}

#[tokio::test]
async fn members_are_free_and_the_site_chooses_the_roles() {
    let app = TestApp::spawn().await;
    let member = app.token(EMAIL, "Ada").await;
    assert_eq!(app.get_authed("/api/v1/rooms", &member).await.status(), 200);

    let (ok, out) = app.cli(&["site", "mfa-policy", SITE, "--roles", "member"]);
    assert!(ok && out.contains("required of member"), "{out}");
    assert!(login(&app).await.json::<TokenResponse>().await.unwrap().mfa_enrolment_required);
    let (ok, out) = app.cli(&["site", "mfa-policy", SITE, "--roles"]);
    assert!(ok && out.contains("nobody"), "{out}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!login(&app).await.json::<TokenResponse>().await.unwrap().mfa_enrolment_required);
    let (ok, out) = app.cli(&["site", "mfa-policy", SITE, "--roles", "wizard"]);
    assert!(!ok && out.contains("wizard"), "{out}");
}
