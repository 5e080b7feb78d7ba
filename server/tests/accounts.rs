//! Accounts against the real server: refresh-token rotation and reuse detection, CSRF on the
//! cookie endpoints, logout, the session list, password change and policy, and the sign-in
//! throttles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use palisade_protocol::ErrorCode;
use palisade_protocol::auth::{SIGN_UP_FRAGMENT, SessionList, TokenResponse};
use serde_json::{Value, json};
use support::{Next, ORIGIN, OTHER_ORIGIN, PASSWORD, SITE, TestApp};

const COOKIE: &str = "__Host-palisade_refresh_acme";

/// What a browser holds after signing in: the access token in memory, the refresh cookie.
#[derive(Debug, Clone)]
struct Signed {
    access: String,
    refresh: String,
}

fn refresh_cookie_of(response: &reqwest::Response) -> String {
    support::set_cookie_value(response, COOKIE).expect("no refresh cookie set")
}

async fn signed(response: reqwest::Response) -> Signed {
    if !response.status().is_success() {
        panic!("{:?} {}", response.status(), response.text().await.unwrap());
    }
    let refresh = refresh_cookie_of(&response);
    let access = response.json::<TokenResponse>().await.unwrap().access_token;
    Signed { access, refresh }
}

async fn register(app: &TestApp, email: &str) -> Signed {
    signed(app.register(SITE, email, "Ada").await).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/login", &json!({"site": SITE, "email": email, "password": password})).await
}

async fn error_of(response: reqwest::Response) -> ErrorCode {
    let body: Value = response.json().await.unwrap();
    serde_json::from_value(body["error"].clone()).unwrap()
}

async fn rooms_status(app: &TestApp, access: &str) -> u16 {
    app.get_authed("/api/v1/rooms", access).await.status().as_u16()
}

#[tokio::test]
async fn sign_in_sets_a_host_only_partitioned_refresh_cookie() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    let response = login(&app, "ada@example.org", PASSWORD).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=None", "Partitioned", "Max-Age=2592000"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.to_lowercase().contains("domain="), "__Host- cookies carry no Domain: {cookie}");
    assert_eq!(refresh_cookie_of(&response).len(), 64, "256 random bits in hex");
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_ends_the_whole_session() {
    let app = TestApp::spawn().await;
    let first = register(&app, "ada@example.org").await;
    let second = signed(app.cookie_request(SITE, "/api/v1/auth/refresh", &first.refresh).send().await.unwrap()).await;
    assert_ne!(second.refresh, first.refresh, "the refresh token rotates");
    assert_eq!(rooms_status(&app, &second.access).await, 200);
    let third = signed(app.cookie_request(SITE, "/api/v1/auth/refresh", &second.refresh).send().await.unwrap()).await;

    // Someone replays the first token (stolen, or an old copy) after the chain moved on: the
    // session ends for everyone.
    let replay = app.cookie_request(SITE, "/api/v1/auth/refresh", &first.refresh).send().await.unwrap();
    assert_eq!(replay.status(), 401);
    assert!(replay.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "the cookie is deleted");
    let newest = app.cookie_request(SITE, "/api/v1/auth/refresh", &third.refresh).send().await.unwrap();
    assert_eq!(newest.status(), 401, "the newest token of the family is dead too");
    assert_eq!(rooms_status(&app, &third.access).await, 401, "and so are its access tokens");
    assert_eq!(rooms_status(&app, &first.access).await, 401);
    assert_eq!(app.audit_events("authn_token_reuse").await.len(), 1);

    let garbage = app.cookie_request(SITE, "/api/v1/auth/refresh", "not-a-token").send().await.unwrap();
    assert_eq!(garbage.status(), 401);
}

#[tokio::test]
async fn a_refresh_whose_answer_never_arrived_can_be_repeated() {
    let app = TestApp::spawn().await;
    let first = register(&app, "ada@example.org").await;
    // The answer to this refresh is lost: the browser still holds `first`.
    let lost = signed(app.cookie_request(SITE, "/api/v1/auth/refresh", &first.refresh).send().await.unwrap()).await;
    let retried = signed(app.cookie_request(SITE, "/api/v1/auth/refresh", &first.refresh).send().await.unwrap()).await;
    assert_eq!(rooms_status(&app, &retried.access).await, 200, "the session goes on");
    // The answer that went missing is now worthless, and presenting it is reuse.
    let stale = app.cookie_request(SITE, "/api/v1/auth/refresh", &lost.refresh).send().await.unwrap();
    assert_eq!(stale.status(), 401);
}

#[tokio::test]
async fn cookie_endpoints_refuse_requests_a_foreign_page_could_make() {
    let app = TestApp::spawn().await;
    let ada = register(&app, "ada@example.org").await;
    let cookie = format!("{COOKIE}={}", ada.refresh);
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        let post = || app.http.post(app.url(path)).header("cookie", cookie.clone()).json(&json!({"site": SITE}));
        let no_header = post().header("origin", ORIGIN).send().await.unwrap();
        assert_eq!((no_header.status().as_u16(), error_of(no_header).await), (403, ErrorCode::Forbidden), "{path}");
        let foreign = post().header("origin", OTHER_ORIGIN).header("x-palisade-csrf", "1").send().await.unwrap();
        assert_eq!((foreign.status().as_u16(), error_of(foreign).await), (403, ErrorCode::OriginNotAllowed));
        let no_origin = post().header("x-palisade-csrf", "1").send().await.unwrap();
        assert_eq!(no_origin.status(), 403, "{path}: a cookie request must say where it comes from");
    }
    let refusals = app.audit_events("malicious_csrf").await;
    assert!(!refusals.is_empty());
    // None of that touched the session.
    let renewed = app.cookie_request(SITE, "/api/v1/auth/refresh", &ada.refresh).send().await.unwrap();
    assert_eq!(renewed.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.audit_events("malicious_csrf").await.len() < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.audit_events("malicious_csrf").await.len(), 6);
}

#[tokio::test]
async fn logout_ends_the_session_its_tokens_and_the_cookie() {
    let app = TestApp::spawn().await;
    let ada = register(&app, "ada@example.org").await;
    let out = app.cookie_request(SITE, "/api/v1/auth/logout", &ada.refresh).send().await.unwrap();
    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(rooms_status(&app, &ada.access).await, 401, "the access token died with the session");
    let refresh = app.cookie_request(SITE, "/api/v1/auth/refresh", &ada.refresh).send().await.unwrap();
    assert_eq!(refresh.status(), 401);
    let again = app.cookie_request(SITE, "/api/v1/auth/logout", &ada.refresh).send().await.unwrap();
    assert_eq!(again.status(), 204, "logging out twice is harmless");
}

#[tokio::test]
async fn a_person_sees_their_sessions_and_ending_one_closes_its_socket() {
    let app = TestApp::spawn().await;
    let laptop = register(&app, "ada@example.org").await;
    let phone = signed(
        app.http
            .post(app.url("/api/v1/auth/login"))
            .header("origin", ORIGIN)
            .header(
                "user-agent",
                "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
            )
            .json(&json!({"site": SITE, "email": "ada@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let list: SessionList = app.get_authed("/api/v1/auth/sessions", &laptop.access).await.json().await.unwrap();
    assert_eq!(list.sessions.len(), 2);
    let phone_session = list.sessions.iter().find(|s| s.device == "Chrome on Android").expect("the phone is listed");
    assert!(!phone_session.current);
    assert_eq!(list.sessions.iter().filter(|s| s.current).count(), 1);
    assert!(list.sessions.iter().all(|s| s.network.as_deref() == Some("127.0.0.0")));

    let mut phone_socket = app.ws(&phone.access).await;
    let path = format!("/api/v1/auth/sessions/{}", phone_session.id);
    let ended = app.http.delete(app.url(&path)).bearer_auth(&laptop.access).send().await.unwrap();
    assert_eq!(ended.status(), 204);

    let started = Instant::now();
    let closed = loop {
        match phone_socket.next().await {
            Next::Frame(_) => continue,
            Next::Closed(reason) => break reason,
        }
    };
    assert_eq!(closed.as_deref(), Some("session_ended"));
    assert!(started.elapsed() < Duration::from_secs(6), "closed after {:?}", started.elapsed());
    assert_eq!(rooms_status(&app, &phone.access).await, 401);
    assert_eq!(rooms_status(&app, &laptop.access).await, 200);
    let again = app.http.delete(app.url(&path)).bearer_auth(&laptop.access).send().await.unwrap();
    assert_eq!(again.status(), 404);

    // Nobody ends another person's session.
    let grace = register(&app, "grace@example.org").await;
    let list: SessionList = app.get_authed("/api/v1/auth/sessions", &laptop.access).await.json().await.unwrap();
    let path = format!("/api/v1/auth/sessions/{}", list.sessions[0].id);
    let foreign = app.http.delete(app.url(&path)).bearer_auth(&grace.access).send().await.unwrap();
    assert_eq!(foreign.status(), 404);
    assert_eq!(rooms_status(&app, &laptop.access).await, 200);
}

async fn change_password(app: &TestApp, access: &str, current: &str, new: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/password"))
        .bearer_auth(access)
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let here = register(&app, "ada@example.org").await;
    let elsewhere = signed(login(&app, "ada@example.org", PASSWORD).await).await;
    let new = "a completely different passphrase";

    let wrong = change_password(&app, &here.access, "not my password at all", new).await;
    assert_eq!((wrong.status().as_u16(), error_of(wrong).await), (401, ErrorCode::InvalidCredentials));
    tokio::time::sleep(Duration::from_millis(1100)).await; // the one-second back-off
    let weak = change_password(&app, &here.access, PASSWORD, "password12345").await;
    assert_eq!((weak.status().as_u16(), error_of(weak).await), (422, ErrorCode::WeakPassword));
    assert_eq!(change_password(&app, &here.access, PASSWORD, new).await.status(), 204);

    assert_eq!(rooms_status(&app, &here.access).await, 200, "this session goes on");
    assert_eq!(rooms_status(&app, &elsewhere.access).await, 401, "every other one ends");
    let stale = app.cookie_request(SITE, "/api/v1/auth/refresh", &elsewhere.refresh).send().await.unwrap();
    assert_eq!(stale.status(), 401);
    assert_eq!(login(&app, "ada@example.org", PASSWORD).await.status(), 401);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(login(&app, "ada@example.org", new).await.status(), 200);
    assert_eq!(app.audit_events("authn_password_change").await.len(), 1);
}

#[tokio::test]
async fn guessable_passwords_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    assert_eq!(app.ask_sign_up(SITE, "ada.lovelace@example.org").await.status(), 202);
    let token = app.mailed_token(SITE, "ada.lovelace@example.org", 1, SIGN_UP_FRAGMENT).await;
    // A dictionary password, and one built from the person's own email and name.
    for guessable in ["password12345", "ada.lovelace@example.org"] {
        let response = app.complete_sign_up(SITE, &token, "Ada Lovelace", guessable).await;
        assert_eq!(response.status(), 422, "{guessable}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "weak_password");
        assert!(body["message"].as_str().unwrap().len() > 10, "{body}");
    }
    // The refusals did not spend the link.
    assert_eq!(app.complete_sign_up(SITE, &token, "Ada Lovelace", PASSWORD).await.status(), 201);
}

/// Status and Retry-After of a sign-in attempt.
async fn attempt(app: &TestApp, email: &str, password: &str) -> (u16, Option<String>) {
    let response = login(app, email, password).await;
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry)
}

#[tokio::test]
async fn failed_sign_ins_back_off_alike_for_real_and_unknown_emails() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    let wrong = "not the password at all";
    for email in ["ada@example.org", "nobody@example.org"] {
        assert_eq!(attempt(&app, email, wrong).await, (401, None), "{email}");
        assert_eq!(attempt(&app, email, wrong).await, (429, Some("1".into())), "{email}: blocked for 1 s");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(attempt(&app, email, wrong).await, (401, None), "{email}");
        assert_eq!(attempt(&app, email, wrong).await, (429, Some("2".into())), "{email}: then for 2 s");
    }
    // Even the right password waits out the back-off…
    assert_eq!(attempt(&app, "ada@example.org", PASSWORD).await.0, 429);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // …then succeeds, and success resets it.
    assert_eq!(attempt(&app, "ada@example.org", PASSWORD).await.0, 200);
    assert_eq!(attempt(&app, "ada@example.org", wrong).await, (401, None));
    assert_eq!(attempt(&app, "ada@example.org", wrong).await, (429, Some("1".into())));
}

#[tokio::test]
async fn failures_from_one_network_do_not_lock_the_owner_out_of_another() {
    let app = TestApp::spawn().await;
    register(&app, "ada@example.org").await;
    // The guesser at 127.0.0.1 (network 127.0.0.0/24) backs off…
    let wrong = "not the password at all";
    assert_eq!(attempt(&app, "ada@example.org", wrong).await.0, 401);
    assert_eq!(attempt(&app, "ada@example.org", wrong).await.0, 429);
    // …while Ada at 127.1.0.1 (another /24 on the loopback) signs in at once.
    let from_elsewhere =
        reqwest::Client::builder().local_address("127.1.0.1".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let response = from_elsewhere
        .post(app.url("/api/v1/auth/login"))
        .header("origin", ORIGIN)
        .json(&json!({"site": SITE, "email": "ada@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(attempt(&app, "ada@example.org", wrong).await.0, 429, "the guesser still waits");
}

#[tokio::test]
async fn too_many_auth_requests_from_one_address_are_slowed() {
    let app = TestApp::spawn_configured(|config| {
        config.auth_requests_per_minute = std::num::NonZeroU32::new(6).unwrap();
        config.auth_burst = std::num::NonZeroU32::new(3).unwrap();
    })
    .await;
    for n in 0..3 {
        assert_eq!(attempt(&app, &format!("p{n}@example.org"), "whatever it is").await.0, 401);
    }
    let refused = login(&app, "p9@example.org", "whatever it is").await;
    assert_eq!(refused.status(), 429);
    // One request per 10 s comes back; how much of that has passed depends on how fast the
    // three attempts above ran.
    let header = |name: &str| refused.headers()[name].to_str().unwrap().to_owned();
    let wait: u64 = header("retry-after").parse().unwrap();
    assert!((1..=10).contains(&wait), "Retry-After {wait}");
    // The same, as draft-ietf-httpapi-ratelimit-headers says it: which limit, and none left.
    assert_eq!(header("ratelimit-policy"), "\"auth\";q=6;w=60");
    assert_eq!(header("ratelimit"), format!("\"auth\";r=0;t={wait}"));
}

#[tokio::test]
async fn too_many_requests_from_one_account_are_slowed_and_nobody_else_is() {
    let app = TestApp::spawn_configured(|config| {
        config.api_requests_per_minute = std::num::NonZeroU32::new(6).unwrap();
        config.api_burst = std::num::NonZeroU32::new(3).unwrap();
    })
    .await;
    let ada = register(&app, "ada@example.org").await;
    let grace = register(&app, "grace@example.org").await;
    for _ in 0..3 {
        assert_eq!(rooms_status(&app, &ada.access).await, 200);
    }
    let refused = app.get_authed("/api/v1/rooms", &ada.access).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers().get("retry-after").unwrap(), "10");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    // Another account, from the same address, is not held up.
    assert_eq!(rooms_status(&app, &grace.access).await, 200);
    assert!(app.metrics().await.contains(r#"palisade_rate_limited_total{class="api"} 1"#));
}

/// Runs `palisade-server user <action>` for an account of the test site.
fn operator(app: &TestApp, action: &str, email: &str) -> (bool, String) {
    app.cli(&["user", action, "--site", SITE, "--email", email])
}

#[tokio::test]
async fn an_operator_ends_a_persons_sessions_or_disables_the_account() {
    let app = TestApp::spawn().await;
    let ada = register(&app, "ada@example.org").await;
    let mut socket = app.ws(&ada.access).await;
    let (ok, out) = operator(&app, "end-sessions", "ada@example.org");
    assert!(ok && out.contains("ended 1 sessions"), "{out}");
    assert_eq!(rooms_status(&app, &ada.access).await, 401);
    let closed = loop {
        match socket.next().await {
            Next::Frame(_) => continue,
            Next::Closed(reason) => break reason,
        }
    };
    assert_eq!(closed.as_deref(), Some("session_ended"));

    let again = signed(login(&app, "ada@example.org", PASSWORD).await).await;
    let (ok, out) = operator(&app, "disable", "ada@example.org");
    assert!(ok, "{out}");
    assert_eq!(rooms_status(&app, &again.access).await, 401, "disabling ends sessions at once");
    let refused = login(&app, "ada@example.org", PASSWORD).await;
    assert_eq!((refused.status().as_u16(), error_of(refused).await), (403, ErrorCode::Forbidden));
    let stale = app.cookie_request(SITE, "/api/v1/auth/refresh", &again.refresh).send().await.unwrap();
    assert_eq!(stale.status(), 401);

    let (ok, out) = operator(&app, "enable", "ada@example.org");
    assert!(ok, "{out}");
    assert_eq!(login(&app, "ada@example.org", PASSWORD).await.status(), 200);
    let changes = app.audit_events("user_updated").await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(!format!("{changes:?}").contains("ada@example.org"));
    let (ok, out) = operator(&app, "disable", "nobody@example.org");
    assert!(!ok && out.contains("no account with that email"), "{out}");
}

#[tokio::test]
async fn signing_in_again_in_the_same_browser_replaces_the_old_session() {
    let app = TestApp::spawn().await;
    let before = register(&app, "ada@example.org").await;
    let body = json!({"site": SITE, "email": "ada@example.org", "password": PASSWORD});
    let again = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("origin", ORIGIN)
        .header("cookie", format!("{COOKIE}={}", before.refresh))
        .json(&body)
        .send()
        .await
        .unwrap();
    let after = signed(again).await;
    assert_eq!(rooms_status(&app, &before.access).await, 401, "the browser's old session ended");
    let list: SessionList = app.get_authed("/api/v1/auth/sessions", &after.access).await.json().await.unwrap();
    assert_eq!(list.sessions.len(), 1);
}

#[tokio::test]
async fn a_signing_key_rotation_keeps_people_signed_in() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let ada = register(&app, "ada@example.org").await;
    let new_key = app.config.data_dir.join("keys").join("access-token-2.key");
    std::fs::write(&new_key, "5a".repeat(32)).unwrap();
    std::fs::set_permissions(&new_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let restart = |previous: bool| {
        let mut config = app.config.clone();
        config.access_token_key_file = Some(new_key.clone());
        config.access_token_previous_key_file =
            previous.then(|| app.config.data_dir.join("keys").join("access-token.key"));
        let running = palisade_server::start(&config).unwrap();
        let base = format!("http://{}", running.addr);
        tokio::spawn(running.run());
        base
    };
    let status = |base: String, token: String| {
        let http = app.http.clone();
        async move { http.get(format!("{base}/api/v1/rooms")).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(status(restart(true), ada.access.clone()).await, 200, "old tokens last through a planned rotation");
    assert_eq!(status(restart(false), ada.access.clone()).await, 401, "without the previous key they die at once");
}
