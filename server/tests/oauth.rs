//! Sign-in with an OpenID provider, against a real one (oauth2-mock-server from npm, started on
//! loopback by `oauth_provider.mjs`) and the real server: the popup's start, the provider's
//! redirect, the callback page and the widget's exchange, and each attack RFC 9700 names for a
//! client, made by switching the provider into misbehaving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Stdio;

use palisade_auth::oauth::{ProviderKind, pkce};
use palisade_protocol::auth::TokenResponse;
use palisade_protocol::mfa::{MfaChallenge, RecoveryCodes, TotpEnrollment};
use palisade_server::config::Secret;
use palisade_server::oauth::settings::ProviderConfig;
use serde_json::{Value, json};
use support::{ORIGIN, OTHER_ORIGIN, SITE, TestApp};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const PROVIDER: &str = "mock";
const CLIENT_ID: &str = "palisade-test";
const VERIFIER: &str = "widget-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// The npm provider as a child process; killed when dropped.
struct MockProvider {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    issuer: String,
}

impl MockProvider {
    async fn start() -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oauth_provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed, and `npm ci` run in the workspace");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready: Value = serde_json::from_str(&stdout.next_line().await.unwrap().unwrap()).unwrap();
        let issuer = ready["issuer"].as_str().unwrap().to_owned();
        Self { _child: child, stdin, stdout, issuer }
    }

    async fn command(&mut self, command: Value) -> Value {
        self.stdin.write_all(format!("{command}\n").as_bytes()).await.unwrap();
        let answer: Value = serde_json::from_str(&self.stdout.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!(answer["ok"], true, "{answer}");
        answer
    }

    async fn mode(&mut self, mode: Value) {
        self.command(json!({"cmd": "mode", "mode": mode})).await;
    }
}

fn provider_config(issuer: &str, id_suffix: &str) -> ProviderConfig {
    ProviderConfig {
        kind: ProviderKind::Oidc,
        label: Some(format!("Mock ID{id_suffix}")),
        issuer: Some(issuer.to_owned()),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(Secret::new("not-so-secret")),
        client_secret_file: None,
        scopes: Vec::new(),
        sites: Vec::new(),
    }
}

async fn setup() -> (TestApp, MockProvider) {
    let provider = MockProvider::start().await;
    let issuer = provider.issuer.clone();
    let app = TestApp::spawn_configured(|config| {
        config.oauth.providers.insert(PROVIDER.into(), provider_config(&issuer, ""));
    })
    .await;
    (app, provider)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned()
}

/// The popup so far: where the provider sends it back, and the binding cookie it carries.
struct Popup {
    callback: String,
    cookie: String,
}

async fn start(app: &TestApp, provider: &str, origin: &str) -> reqwest::Response {
    start_linking(app, provider, origin, None).await
}

async fn start_linking(app: &TestApp, provider: &str, origin: &str, link: Option<&str>) -> reqwest::Response {
    let challenge = pkce::challenge_of(VERIFIER);
    let mut query = vec![("site", SITE), ("origin", origin), ("code_challenge", &challenge)];
    if let Some(ticket) = link {
        query.push(("link", ticket));
    }
    let url =
        reqwest::Url::parse_with_params(&app.url(&format!("/api/v1/auth/oauth/{provider}/start")), query).unwrap();
    no_redirects().get(url).send().await.unwrap()
}

/// Opens the popup and lets the provider answer; stops before the callback.
async fn to_provider_and_back(app: &TestApp) -> Popup {
    to_provider_and_back_linking(app, None).await
}

async fn to_provider_and_back_linking(app: &TestApp, link: Option<&str>) -> Popup {
    let started = start_linking(app, PROVIDER, ORIGIN, link).await;
    assert_eq!(started.status(), 303, "{:?}", started.text().await);
    let cookie = started.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-palisade_oauth="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let authorize = location(&started);
    for wanted in [
        "state=",
        "nonce=",
        "code_challenge_method=S256",
        "redirect_uri=https%3A%2F%2Fchat.test%2Fapi%2Fv1%2Fauth%2Foauth%2Fmock%2Fcallback",
    ] {
        assert!(authorize.contains(wanted), "{wanted} missing from {authorize}");
    }
    let back = no_redirects().get(&authorize).send().await.unwrap();
    assert!(back.status().is_redirection(), "{:?}", back.text().await);
    let to = reqwest::Url::parse(&location(&back)).unwrap();
    assert_eq!(to.origin().ascii_serialization(), "https://chat.test", "the exact redirect URI");
    let callback = app.url(&format!("{}?{}", to.path(), to.query().unwrap_or("")));
    Popup { callback, cookie }
}

async fn callback(popup: &Popup) -> reqwest::Response {
    no_redirects().get(&popup.callback).header("cookie", &popup.cookie).send().await.unwrap()
}

fn attribute(page: &str, name: &str) -> Option<String> {
    let start = page.find(&format!("{name}=\""))? + name.len() + 2;
    Some(page[start..].split('"').next()?.to_owned())
}

/// The popup's last page: status, the code it posts (if any) and the error it posts (if any).
async fn finish_popup(popup: &Popup) -> (u16, Option<String>, Option<String>, String) {
    let page = callback(popup).await;
    let status = page.status().as_u16();
    let headers = page.headers().clone();
    let body = page.text().await.unwrap();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("unsafe-inline") && csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("wasm-unsafe-eval"), "no WebAssembly runs in the popup: {csp}");
    assert_eq!(headers["cross-origin-opener-policy"], "unsafe-none", "the popup must keep its opener");
    assert!(!body.contains("<script>"), "no inline script: {body}");
    assert!(body.contains("src=\"/api/v1/auth/oauth/popup.js\""), "{body}");
    (status, attribute(&body, "data-code"), attribute(&body, "data-error"), body)
}

async fn exchange(app: &TestApp, code: &str, verifier: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/oauth/exchange", &json!({"site": SITE, "code": code, "code_verifier": verifier})).await
}

/// The whole popup; returns the one-time code it posts.
async fn popup_code(app: &TestApp) -> String {
    let popup = to_provider_and_back(app).await;
    let (status, code, error, body) = finish_popup(&popup).await;
    assert_eq!((status, error), (200, None), "{body}");
    assert_eq!(attribute(&body, "data-origin").as_deref(), Some(ORIGIN), "posted to the exact origin");
    code.unwrap()
}

async fn sign_in(app: &TestApp) -> TokenResponse {
    let code = popup_code(app).await;
    let answer = exchange(app, &code, VERIFIER).await;
    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    assert!(answer.headers()["set-cookie"].to_str().unwrap().starts_with("__Host-palisade_refresh_acme="));
    answer.json().await.unwrap()
}

/// Runs the popup against a provider in `mode` and expects the callback to refuse with `reason`.
async fn refused_with(app: &TestApp, provider: &mut MockProvider, mode: Value, reason: &str) {
    provider.mode(mode).await;
    let popup = to_provider_and_back(app).await;
    let (status, code, error, body) = finish_popup(&popup).await;
    assert!(code.is_none(), "no code for a bad answer: {body}");
    assert_eq!(error.as_deref(), Some(reason), "{status} {body}");
    assert!(status >= 400, "{status}");
    assert_audited(app, reason).await;
    assert_eq!(count(app, "SELECT COUNT(*) AS n FROM oauth_login_codes"), 0, "nothing half-created");
    provider.mode(json!({})).await;
}

fn execute(app: &TestApp, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    let url = app.config.database_url().expose().to_owned();
    if url.starts_with("postgres") {
        diesel::sql_query(sql).execute(&mut diesel::pg::PgConnection::establish(&url).unwrap()).unwrap();
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(&url).unwrap();
        diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut conn).unwrap();
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    let url = app.config.database_url().expose().to_owned();
    let rows: Vec<Count> = if url.starts_with("postgres") {
        diesel::sql_query(sql).load(&mut diesel::pg::PgConnection::establish(&url).unwrap()).unwrap()
    } else {
        diesel::sql_query(sql).load(&mut diesel::sqlite::SqliteConnection::establish(&url).unwrap()).unwrap()
    };
    rows[0].n
}

/// Waits (the trail is written in the background) for a failed sign-in naming `reason`.
async fn assert_audited(app: &TestApp, reason: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let fails = app.audit_events_at_least("authn_login_fail", 0).await;
        if fails.iter().any(|e| e.details.contains(&format!("\"reason\":\"{reason}\""))) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no authn_login_fail with reason {reason}: {fails:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn accounts(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) AS n FROM users")
}

#[tokio::test]
async fn a_first_sign_in_creates_the_account_and_the_next_finds_it() {
    let (app, mut provider) = setup().await;
    provider.mode(json!({"claims": {"sub": "ada-at-mock", "name": "Ada L.", "email": "ada@example.org", "email_verified": true}})).await;
    let listed: Value = app
        .http
        .get(app.url("/api/v1/auth/oauth/providers?site=acme"))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!({"providers": [{"id": "mock", "label": "Mock ID"}]}));
    let first = sign_in(&app).await;
    let me: Value = app.get_authed("/api/v1/auth/sessions", &first.access_token).await.json().await.unwrap();
    assert!(me.is_array() || me.is_object(), "the token works: {me}");
    let created = app.audit_events("user_created").await;
    assert_eq!(created.len(), 1);
    assert!(created[0].details.contains("oauth"), "{:?}", created[0]);
    let again = sign_in(&app).await;
    assert_ne!(first.access_token, again.access_token);
    assert_eq!(accounts(&app).await, 1, "the same subject signs into the same account");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM oauth_identities"), 1);
    let success = app.audit_events("authn_login_success").await;
    assert!(success.iter().any(|e| e.details.contains("oauth")));
    let script = app.http.get(app.url("/api/v1/auth/oauth/popup.js")).send().await.unwrap();
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("postMessage(message, origin)"));
}

#[tokio::test]
async fn accounts_are_keyed_by_subject_and_never_merged_by_email() {
    let (app, mut provider) = setup().await;
    // Someone owns ada@example.org here with a password...
    app.token("ada@example.org", "Ada").await;
    // ...and a provider account claims the same (verified) address: a new account, not hers.
    provider.mode(json!({"claims": {"sub": "someone-else", "email": "ada@example.org", "email_verified": true}})).await;
    sign_in(&app).await;
    assert_eq!(accounts(&app).await, 2);
    provider.mode(json!({"claims": {"sub": "a-third", "email": "ada@example.org", "email_verified": true}})).await;
    sign_in(&app).await;
    assert_eq!(accounts(&app).await, 3, "another subject is another account whatever its email");
}

#[tokio::test]
async fn the_state_must_be_present_known_unexpired_unused_and_of_this_browser() {
    let (app, _provider) = setup().await;
    // Missing.
    let mut popup = to_provider_and_back(&app).await;
    let valid_callback = popup.callback.clone();
    popup.callback = valid_callback.replace("state=", "nostate=");
    let (status, code, _, _) = finish_popup(&popup).await;
    assert_eq!((status, code), (400, None));
    // Wrong.
    popup.callback = regex_replace_state(&valid_callback, "00".repeat(32).as_str());
    let (status, code, _, _) = finish_popup(&popup).await;
    assert_eq!((status, code), (400, None));
    // Another browser (no or another binding cookie): refused, and the transaction is spent.
    popup.callback = valid_callback.clone();
    let stolen =
        Popup { callback: valid_callback.clone(), cookie: format!("__Host-palisade_oauth={}", "11".repeat(32)) };
    let (status, code, error, _) = finish_popup(&stolen).await;
    assert_eq!((status, code, error.as_deref()), (400, None, Some("browser_mismatch")));
    // Replayed: the right browser now finds it used.
    let (status, code, _, _) = finish_popup(&popup).await;
    assert_eq!((status, code), (400, None));
    // Used once successfully, then replayed.
    let popup = to_provider_and_back(&app).await;
    assert!(finish_popup(&popup).await.1.is_some());
    let (status, code, _, _) = finish_popup(&popup).await;
    assert_eq!((status, code), (400, None), "a state works once");
    for reason in ["state_missing", "state_unknown", "browser_mismatch"] {
        assert_audited(&app, reason).await;
    }
}

fn regex_replace_state(url: &str, new_state: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { new_state.to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.into()
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let (app, _provider) = setup().await;
    let popup = to_provider_and_back(&app).await;
    // Age every transaction past its 10 minutes, as time would.
    execute(&app, "UPDATE oauth_transactions SET expires_at = 1");
    let (status, code, error, _) = finish_popup(&popup).await;
    assert_eq!((status, code, error.as_deref()), (400, None, Some("state_expired")));
}

#[tokio::test]
async fn id_tokens_that_fail_a_check_are_refused() {
    let (app, mut provider) = setup().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    refused_with(&app, &mut provider, json!({"claims": {"nonce": "not-the-one-we-sent"}}), "id_token_nonce").await;
    refused_with(&app, &mut provider, json!({"claims": {"iss": "https://evil.example"}}), "id_token_issuer").await;
    refused_with(&app, &mut provider, json!({"claims": {"aud": "another-client"}}), "id_token_audience").await;
    refused_with(
        &app,
        &mut provider,
        json!({"claims": {"aud": [CLIENT_ID, "another-client"]}}),
        "id_token_authorized_party",
    )
    .await;
    refused_with(&app, &mut provider, json!({"claims": {"exp": now - 3600, "iat": now - 4000}}), "id_token_expired")
        .await;
    refused_with(&app, &mut provider, json!({"claims": {"iat": now + 3600}}), "id_token_issued_at").await;
    refused_with(&app, &mut provider, json!({"sign": "none"}), "id_token_malformed").await;
    refused_with(&app, &mut provider, json!({"sign": "hs256"}), "id_token_algorithm").await;
    refused_with(&app, &mut provider, json!({"sign": "unknown_key"}), "id_token_unknown_key").await;
    // The provider itself still works: the checks refused the tokens, not the flow.
    sign_in(&app).await;
}

#[tokio::test]
async fn a_response_naming_another_issuer_is_refused() {
    let (app, mut provider) = setup().await;
    // RFC 9207: the authorization response names its issuer; another one is a mix-up.
    refused_with(&app, &mut provider, json!({"authorize_iss": "https://other-idp.example"}), "issuer_mismatch").await;
    provider.mode(json!({"authorize_iss": provider.issuer.clone()})).await;
    sign_in(&app).await;
}

#[tokio::test]
async fn a_response_for_one_provider_at_anothers_callback_is_refused() {
    let mut provider = MockProvider::start().await;
    let issuer = provider.issuer.clone();
    let app = TestApp::spawn_configured(|config| {
        config.oauth.providers.insert(PROVIDER.into(), provider_config(&issuer, ""));
        config.oauth.providers.insert("second".into(), provider_config(&issuer, " 2"));
    })
    .await;
    provider.mode(json!({})).await;
    let mut popup = to_provider_and_back(&app).await;
    popup.callback = popup.callback.replace("/oauth/mock/callback", "/oauth/second/callback");
    let (status, code, error, _) = finish_popup(&popup).await;
    assert_eq!((status, code, error.as_deref()), (400, None, Some("provider_mismatch")));
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_when_a_token_names_it() {
    let (app, mut provider) = setup().await;
    sign_in(&app).await; // caches the key set
    provider.command(json!({"cmd": "rotate"})).await;
    sign_in(&app).await;
}

#[tokio::test]
async fn an_origin_the_site_does_not_allow_gets_no_transaction() {
    let (app, _provider) = setup().await;
    for origin in [OTHER_ORIGIN, "https://evil.example", "null"] {
        let refused = start(&app, PROVIDER, origin).await;
        assert_eq!(refused.status(), 403);
        assert!(refused.headers().get("set-cookie").is_none());
        assert!(refused.headers().get("location").is_none());
        let page = refused.text().await.unwrap();
        assert!(attribute(&page, "data-origin").is_none(), "nothing is posted anywhere: {page}");
    }
    let unknown = start(&app, "nope", ORIGIN).await;
    assert_eq!(unknown.status(), 404);
    assert_audited(&app, "origin_not_allowed").await;
}

#[tokio::test]
async fn the_login_code_works_once_only_with_the_verifier_and_only_on_its_site() {
    let (app, _provider) = setup().await;
    let code = popup_code(&app).await;
    let wrong = exchange(&app, &code, "another-verifier-0123456789-abcdefghijklmnopqrstuvwxyz").await;
    assert_eq!(wrong.status(), 401, "a code seen by someone else is useless without the verifier");
    let spent = exchange(&app, &code, VERIFIER).await;
    assert_eq!(spent.status(), 401, "the first try spends the code");

    let code = popup_code(&app).await;
    let signed_in = exchange(&app, &code, VERIFIER).await;
    assert_eq!(signed_in.status(), 200);
    let twice = exchange(&app, &code, VERIFIER).await;
    assert_eq!(twice.status(), 401, "a code exchanged twice");
    let body: Value = twice.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");

    let code = popup_code(&app).await;
    let other_page = app
        .http
        .post(app.url("/api/v1/auth/oauth/exchange"))
        .header("origin", "https://evil.example")
        .json(&json!({"site": SITE, "code": code, "code_verifier": VERIFIER}))
        .send()
        .await
        .unwrap();
    assert_eq!(other_page.status(), 403);
    assert_audited(&app, "code_verifier_mismatch").await;
    assert_audited(&app, "login_code_unknown").await;
}

#[tokio::test]
async fn denied_consent_and_closed_sign_up_create_nothing() {
    let (app, mut provider) = setup().await;
    refused_with(&app, &mut provider, json!({"authorize_error": "access_denied"}), "consent_denied").await;
    let (ok, out) = app.cli(&["site", "update", SITE, "--sign-up", "invite-only"]);
    assert!(ok, "{out}");
    provider.mode(json!({"claims": {"sub": "newcomer"}})).await;
    let popup = to_provider_and_back(&app).await;
    let (status, code, error, _) = finish_popup(&popup).await;
    assert_eq!((status, code, error.as_deref()), (403, None, Some("sign_up_closed")));
    assert_eq!(accounts(&app).await, 0);
}

#[tokio::test]
async fn an_account_with_a_second_factor_gets_the_mfa_step() {
    let (app, mut provider) = setup().await;
    provider.mode(json!({"claims": {"sub": "grace"}})).await;
    let token = sign_in(&app).await.access_token;
    let post = |path: &'static str, body: Value| {
        let (app, token) = (&app, token.clone());
        async move { app.http.post(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    let enrollment: TotpEnrollment = post("/api/v1/auth/mfa/totp", json!({})).await.json().await.unwrap();
    let secret = support::totp_secret(&enrollment.secret);
    let code = format!("{:06}", secret.code_at(support::totp_step_now()));
    let confirmed = post("/api/v1/auth/mfa/totp/confirm", json!({"code": code})).await;
    assert_eq!(confirmed.status(), 200);
    let _codes: RecoveryCodes = confirmed.json().await.unwrap();
    let login_code = popup_code(&app).await;
    let answer = exchange(&app, &login_code, VERIFIER).await;
    assert_eq!(answer.status(), 202, "the provider is the first factor only");
    assert!(answer.headers().get("set-cookie").is_none());
    let _challenge: MfaChallenge = answer.json().await.unwrap();
}

async fn link_ticket(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/oauth/link"))
        .bearer_auth(token)
        .json(&json!({"provider": PROVIDER, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn linked_providers(app: &TestApp, token: &str) -> Vec<String> {
    let body: Value = app.get_authed("/api/v1/auth/oauth/identities", token).await.json().await.unwrap();
    body["identities"].as_array().unwrap().iter().map(|i| i["provider"].as_str().unwrap().to_owned()).collect()
}

async fn unlink(app: &TestApp, token: &str, password: &str) -> u16 {
    let url = app.url(&format!("/api/v1/auth/oauth/{PROVIDER}/unlink"));
    let answer = app.http.post(url).bearer_auth(token).json(&json!({"password": password})).send().await.unwrap();
    answer.status().as_u16()
}

#[tokio::test]
async fn linking_is_explicit_needs_the_password_and_never_takes_another_accounts_identity() {
    let (app, mut provider) = setup().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let ticket: Value = link_ticket(&app, &ada, support::PASSWORD).await.json().await.unwrap();
    let ticket = ticket["ticket"].as_str().unwrap().to_owned();
    provider.mode(json!({"claims": {"sub": "ada-at-mock"}})).await;
    let popup = to_provider_and_back_linking(&app, Some(&ticket)).await;
    let (status, code, error, body) = finish_popup(&popup).await;
    assert_eq!((status, code, error), (200, None, None), "{body}");
    assert_eq!(attribute(&body, "data-linked").as_deref(), Some("true"));
    assert_eq!(linked_providers(&app, &ada).await, [PROVIDER]);
    assert!(!app.audit_events("user_updated").await.is_empty());
    // The provider now signs into Ada's account; no new one.
    sign_in(&app).await;
    assert_eq!(accounts(&app).await, 1);
    // A ticket works once.
    let replay = start_linking(&app, PROVIDER, ORIGIN, Some(&ticket)).await;
    assert_eq!(replay.status(), 400);

    // Grace's provider account has its own chat account; Ada cannot take it over by linking.
    provider.mode(json!({"claims": {"sub": "grace-at-mock"}})).await;
    sign_in(&app).await;
    assert_eq!(accounts(&app).await, 2);
    let ticket: Value = link_ticket(&app, &ada, support::PASSWORD).await.json().await.unwrap();
    let popup = to_provider_and_back_linking(&app, ticket["ticket"].as_str()).await;
    let (status, code, error, _) = finish_popup(&popup).await;
    assert_eq!((status, code, error.as_deref()), (409, None, Some("identity_in_use")));
    assert_eq!(linked_providers(&app, &ada).await, [PROVIDER], "unchanged");

    // Ada keeps her password as a way in, so she may unlink.
    assert_eq!(unlink(&app, &ada, support::PASSWORD).await, 204);
    assert!(linked_providers(&app, &ada).await.is_empty());
    assert_eq!(unlink(&app, &ada, support::PASSWORD).await, 404);
    // Both ask for the password again: a stolen access token is not enough. (After one wrong
    // password the sign-in back-off may answer 429 instead; either way nothing happens.)
    assert_eq!(unlink(&app, &ada, "not her password at all").await, 401);
    let refused = link_ticket(&app, &ada, "not her password at all").await.status().as_u16();
    assert!(refused == 401 || refused == 429, "{refused}");
}

// ---------------------------------------------------------------------------------------------
// GitHub: OAuth 2 without OpenID Connect, the person read from its REST API. A GitHub
// Enterprise Server on loopback stands in for it (`issuer` names one).

const GITHUB_CODE: &str = "gh-code";
const GITHUB_TOKEN: &str = "gho_token";

type Query = actix_web::web::Query<std::collections::HashMap<String, String>>;

async fn github_authorize(query: Query) -> actix_web::HttpResponse {
    // No OpenID Connect here: a nonce would mean the wrong flow.
    let fine = !query.contains_key("nonce")
        && query.get("code_challenge_method").map(String::as_str) == Some("S256")
        && query.get("scope").map(String::as_str) == Some("read:user user:email");
    if !fine {
        return actix_web::HttpResponse::BadRequest().body(format!("unexpected authorize request: {query:?}"));
    }
    let back = format!("{}?code={GITHUB_CODE}&state={}", query["redirect_uri"], query["state"]);
    actix_web::HttpResponse::Found().insert_header(("location", back)).finish()
}

async fn github_token(
    req: actix_web::HttpRequest,
    form: actix_web::web::Form<std::collections::HashMap<String, String>>,
) -> actix_web::HttpResponse {
    let client_authenticated = req.headers().get("authorization").is_some_and(|v| v.as_bytes().starts_with(b"Basic "));
    if !client_authenticated
        || form.get("code").map(String::as_str) != Some(GITHUB_CODE)
        || !form.contains_key("code_verifier")
    {
        // GitHub answers 200 with an error body.
        return actix_web::HttpResponse::Ok().json(json!({"error": "bad_verification_code"}));
    }
    actix_web::HttpResponse::Ok()
        .json(json!({"access_token": GITHUB_TOKEN, "token_type": "bearer", "scope": "read:user,user:email"}))
}

fn github_api(req: &actix_web::HttpRequest, body: Value) -> actix_web::HttpResponse {
    let bearer = format!("Bearer {GITHUB_TOKEN}");
    if req.headers().get("authorization").is_some_and(|v| v.as_bytes() == bearer.as_bytes()) {
        actix_web::HttpResponse::Ok().json(body)
    } else {
        actix_web::HttpResponse::Unauthorized().json(json!({"message": "Bad credentials"}))
    }
}

/// The GitHub on loopback; returns its address.
fn mock_github() -> String {
    use actix_web::{App, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new()
            .route("/login/oauth/authorize", web::get().to(github_authorize))
            .route("/login/oauth/access_token", web::post().to(github_token))
            .route(
                "/api/v3/user",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    github_api(&req, json!({"id": 4242, "login": "octocat", "name": null}))
                }),
            )
            .route(
                "/api/v3/user/emails",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    github_api(&req, json!([{"email": "octo@example.org", "primary": true, "verified": true}]))
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

/// The popup against the GitHub: its one-time code.
async fn github_popup_code(app: &TestApp, github: &str) -> String {
    let started = start(app, "github", ORIGIN).await;
    assert_eq!(started.status(), 303, "{:?}", started.text().await);
    let cookie = started.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let authorize = location(&started);
    assert!(authorize.starts_with(&format!("{github}/login/oauth/authorize?")), "{authorize}");
    let back = no_redirects().get(&authorize).send().await.unwrap();
    assert_eq!(back.status(), 302, "{:?}", back.text().await);
    let to = reqwest::Url::parse(&location(&back)).unwrap();
    let popup = Popup { callback: app.url(&format!("{}?{}", to.path(), to.query().unwrap_or(""))), cookie };
    let (status, code, error, body) = finish_popup(&popup).await;
    assert_eq!((status, error), (200, None), "{body}");
    code.unwrap()
}

#[tokio::test]
async fn a_github_sign_in_is_keyed_by_the_numeric_account_id_and_named_by_the_login() {
    let github = mock_github();
    let app = TestApp::spawn_configured(|config| {
        let provider = ProviderConfig {
            kind: ProviderKind::Github,
            label: Some("GitHub".into()),
            issuer: Some(github.clone()),
            ..provider_config("", "")
        };
        config.oauth.providers.insert("github".into(), provider);
    })
    .await;
    for _ in 0..2 {
        let code = github_popup_code(&app, &github).await;
        let answer = exchange(&app, &code, VERIFIER).await;
        assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    }
    assert_eq!(accounts(&app).await, 1, "the second sign-in finds the first one's account");
    let identities = "SELECT COUNT(*) AS n FROM oauth_identities WHERE provider = 'github' AND subject = '4242'";
    assert_eq!(count(&app, identities), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM users WHERE display_name = 'octocat'"), 1, "no name: the login");
}
