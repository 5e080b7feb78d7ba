//! Issue 7, security logging: nothing secret is ever logged.
//!
//! The real `palisade-server` binary runs as its own process with the most verbose logging
//! there is (`trace` for every crate, dependencies included, which is more than the `debug` an
//! operator would plausibly turn on). One person then goes through the whole flow over HTTP and the
//! WebSocket: sign-up with the mailed link, a wrong password, sign-in, refresh, TOTP enrolment,
//! sign-out, sign-in with a TOTP code, sign-in with a recovery code, a mailed password reset,
//! sign-in after it, a password change, new recovery codes, a message sent over the socket and
//! edited. Every secret used or issued on the way is collected; afterwards all of the process's
//! stdout and stderr, and every row of the audit table, are scanned for each of them, as typed
//! and in the encodings a careless log line would use (JSON and URL escaping, hex, base64 at
//! every byte alignment, `{:?}` byte lists, the raw bytes of hex and base32 secrets in the other
//! encodings). The WebSocket has no separate ticket: it authenticates with the access token in
//! its first frame, which is scanned for like every other access token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use palisade_protocol::auth::{RESET_FRAGMENT, SIGN_UP_FRAGMENT, TokenResponse};
use palisade_protocol::messages::{HistoryPage, MessageView};
use palisade_protocol::mfa::{MfaChallenge, RecoveryCodes, TotpEnrollment};
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, RoomId};
use serde_json::{Value, json};
use support::process::ServerProcess;
use support::{ORIGIN, TestApp};
use uuid::Uuid;

/// A site made for this test through the CLI, as an operator makes one.
const SITE: &str = "ledger";
const COOKIE: &str = "__Host-palisade_refresh_ledger";

/// Tries to end its field and its line and start a forged success event.
const FORGING_USER_AGENT: &str = "curl/8\",\"event\":\"authn_login_success\"} {\"event\":\"authn_login_success";

/// Log injection: every line the server wrote parses as one JSON object, and the hostile user
/// agent arrived whole inside the `user_agent` field of the failed sign-in it came with.
fn every_line_is_one_json_object_and_the_forgery_stayed_in_its_field(stderr: &str) {
    let mut carried = 0;
    for line in stderr.lines().filter(|line| !line.trim().is_empty()) {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object ({e}): {line:.300}"));
        assert!(value.is_object(), "not an object: {line:.300}");
        if value["user_agent"] == FORGING_USER_AGENT {
            assert_eq!(value["event"], "authn_login_fail", "the forged event must not win: {line:.300}");
            carried += 1;
        }
    }
    assert_eq!(carried, 1, "the failed sign-in's line carries the hostile user agent, once");
}

/// As verbose as logging goes: `trace` for everything, dependencies included, beyond the
/// `debug` (or `trace` for Palisade's own crates) an operator chasing a problem would turn on.
const VERBOSE: &str = "trace";

// ---------------------------------------------------------------------------------------------
// The secrets and how they could be written.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Searched for anywhere, in every encoding that fits.
    Text,
    /// A short code of digits: searched for only as a number of its own, so timestamps and
    /// counters that happen to contain the same digits do not count.
    Digits,
}

struct Secret {
    what: String,
    value: String,
    kind: Kind,
}

#[derive(Default)]
struct Secrets(Vec<Secret>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: &str) {
        let what = what.into();
        assert!(value.len() >= 8, "a secret this short would match by chance: {what}");
        self.0.push(Secret { what, value: value.to_owned(), kind: Kind::Text });
    }

    fn add_code(&mut self, what: impl Into<String>, value: &str) {
        assert!(value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit()));
        self.0.push(Secret { what: what.into(), value: value.to_owned(), kind: Kind::Digits });
    }

    /// An access token, and on its own the signature, which is the part that makes it valid.
    fn add_access_token(&mut self, what: &str, token: &str) {
        self.add(what, token);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "access tokens are JWTs");
        self.add(format!("{what} (signature)"), parts[2]);
    }

    /// A recovery code as shown (`ABCD-EFGH-…`) and as stored before hashing (no dashes).
    fn add_recovery_code(&mut self, what: &str, code: &str) {
        self.add(what, code);
        self.add(format!("{what} (without dashes)"), &code.replace('-', ""));
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let padded = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(padded[0]) << 16) | (u32::from(padded[1]) << 8) | u32::from(padded[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The base64 of `bytes` wherever it sits in a longer value: for each of the three alignments,
/// the characters that depend on `bytes` alone.
fn base64_anywhere(bytes: &[u8]) -> Vec<(String, String)> {
    let mut forms = Vec::new();
    for shift in 0..3 {
        let mut shifted = vec![0_u8; shift];
        shifted.extend_from_slice(bytes);
        let (first, end) = ((8 * shift).div_ceil(6), 8 * (shift + bytes.len()) / 6);
        for (name, alphabet) in [("base64", BASE64), ("base64url", BASE64_URL)] {
            let encoded = base64(&shifted, alphabet);
            forms.push((format!("{name} at offset {shift}"), encoded[first..end].to_owned()));
        }
    }
    forms
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` as `{:?}` prints a byte slice, without the brackets so that it is found inside a
/// longer one too.
fn byte_list(bytes: &[u8]) -> String {
    let list = format!("{bytes:?}");
    list[1..list.len() - 1].to_owned()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

fn percent_encoded(text: &str, space_as_plus: bool) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            b' ' if space_as_plus => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The ways `secret` could appear in a log line or an audit row, named, lowercased (the scan
/// ignores case: hex and base32 are written in either).
fn forms(secret: &Secret) -> Vec<(String, String)> {
    let value = &secret.value;
    let mut forms = vec![("as typed".to_owned(), value.clone())];
    if secret.kind == Kind::Digits {
        return forms;
    }
    let json = serde_json::to_string(value).unwrap();
    forms.push(("JSON-escaped".into(), json[1..json.len() - 1].to_owned()));
    forms.push(("URL-encoded".into(), percent_encoded(value, false)));
    forms.push(("form-encoded".into(), percent_encoded(value, true)));
    forms.push(("hex".into(), hex(value.as_bytes())));
    forms.push(("bytes as `{:?}` prints them".into(), byte_list(value.as_bytes())));
    forms.extend(base64_anywhere(value.as_bytes()));
    // Hex tokens are 32 random bytes: those bytes in base64 are the same secret.
    if let Some(raw) = unhex(value).filter(|raw| raw.len() >= 16) {
        forms.push(("raw bytes as `{:?}` prints them".into(), byte_list(&raw)));
        forms.extend(base64_anywhere(&raw).into_iter().map(|(name, form)| (format!("raw bytes in {name}"), form)));
    }
    // A TOTP secret's 20 bytes, in the encodings other than the base32 it is shown in.
    if secret.what.starts_with("TOTP secret") {
        let raw = support::totp_secret(value).expose_bytes().to_vec();
        forms.push(("raw bytes in hex".into(), hex(&raw)));
        forms.push(("raw bytes as `{:?}` prints them".into(), byte_list(&raw)));
        forms.extend(base64_anywhere(&raw).into_iter().map(|(name, form)| (format!("raw bytes in {name}"), form)));
    }
    let mut seen = std::collections::HashSet::new();
    forms
        .into_iter()
        .map(|(name, form)| (name, form.to_lowercase()))
        .filter(|(_, form)| seen.insert(form.clone()))
        .collect()
}

/// Where `needle` (lowercase) occurs in `line` (lowercase), by the rules of its kind.
fn occurs(line: &str, needle: &str, kind: Kind) -> bool {
    match kind {
        Kind::Text => line.contains(needle),
        Kind::Digits => line.match_indices(needle).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            let after = line[at + needle.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '.') && !after.is_some_and(char::is_alphanumeric)
        }),
    }
}

/// One form of one secret, as searched for.
struct Needle {
    secret: String,
    form: String,
    text: String,
    kind: Kind,
}

/// Where one form of a secret turned up: how often, and the first place.
struct Leak {
    needle: usize,
    count: usize,
    first: String,
    excerpt: String,
}

/// Scans texts for every form of every secret and keeps what it finds, one entry per form.
struct Scanner {
    needles: Vec<Needle>,
    leaks: Vec<Leak>,
}

impl Scanner {
    fn new(secrets: &Secrets) -> Self {
        let needles = secrets
            .0
            .iter()
            .flat_map(|secret| {
                forms(secret).into_iter().map(|(form, text)| Needle {
                    secret: secret.what.clone(),
                    form,
                    text,
                    kind: secret.kind,
                })
            })
            .collect();
        Self { needles, leaks: Vec::new() }
    }

    /// Scans `text` line by line; `source` names it in the report.
    fn scan(&mut self, source: &str, text: &str) {
        for (n, line) in text.lines().map(str::to_lowercase).enumerate() {
            for (index, needle) in self.needles.iter().enumerate() {
                if !occurs(&line, &needle.text, needle.kind) {
                    continue;
                }
                if let Some(leak) = self.leaks.iter_mut().find(|leak| leak.needle == index) {
                    leak.count += 1;
                } else {
                    let first = format!("{source}, line {}", n + 1);
                    self.leaks.push(Leak { needle: index, count: 1, first, excerpt: self.excerpt(&line, index) });
                }
            }
        }
    }

    /// `line` cut short with every secret in it masked, to say where a leak is without
    /// repeating it (or another one) in the test output.
    fn excerpt(&self, line: &str, found: usize) -> String {
        let mut masked = line.replace(&self.needles[found].text, "<LEAKED>");
        for needle in self.needles.iter().filter(|needle| needle.kind == Kind::Text) {
            masked = masked.replace(&needle.text, "<SECRET>");
        }
        let cut: String = masked.chars().take(200).collect();
        if cut.len() < masked.len() { format!("{cut}…") } else { cut }
    }

    fn report(&self) -> String {
        let lines: Vec<String> = self
            .leaks
            .iter()
            .map(|leak| {
                let needle = &self.needles[leak.needle];
                format!(
                    "- {} ({}): {} time(s), first in {}: {}",
                    needle.secret, needle.form, leak.count, leak.first, leak.excerpt
                )
            })
            .collect();
        lines.join("\n")
    }
}

// ---------------------------------------------------------------------------------------------
// The flow.

/// A short random string to make this run's values unique.
fn unique() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_owned()
}

fn code(secret: &palisade_auth::totp::TotpSecret, step: u64) -> String {
    format!("{:06}", secret.code_at(step))
}

/// What a browser holds after signing in: the access token in memory, the refresh cookie.
struct Signed {
    access: String,
    refresh: String,
}

/// The session a successful sign-in answer carries; fails the test on any other answer.
async fn signed(response: reqwest::Response, what: &str) -> Signed {
    let status = response.status();
    assert!(status.is_success(), "{what}: {status} {}", response.text().await.unwrap());
    let refresh = support::set_cookie_value(&response, COOKIE).unwrap_or_else(|| panic!("{what}: no refresh cookie"));
    let access = response.json::<TokenResponse>().await.unwrap().access_token;
    Signed { access, refresh }
}

async fn post_bearer(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url(path)).header("origin", ORIGIN).bearer_auth(token).json(body).send().await.unwrap()
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/login", &json!({"site": SITE, "email": email, "password": password})).await
}

/// A sign-in that the second factor must finish: returns the challenge ticket.
async fn challenged(app: &TestApp, email: &str, password: &str, secrets: &mut Secrets, what: &str) -> String {
    let response = login(app, email, password).await;
    assert_eq!(response.status(), 202, "{what}: the password alone must not sign in");
    let ticket = response.json::<MfaChallenge>().await.unwrap().ticket;
    secrets.add(format!("MFA challenge ticket ({what})"), &ticket);
    ticket
}

async fn verify(app: &TestApp, ticket: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/mfa/verify", &json!({"site": SITE, "ticket": ticket, "code": code})).await
}

/// The back-off a failed sign-in starts, so the next attempt is not refused for it.
async fn wait_out_back_off() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_at_trace_level_leaves_no_secret_in_the_logs_or_the_audit_trail() {
    // The in-process server only prepares a database, data dir (keys) and mail sink; every
    // request below goes to the separate process, whose output is what is scanned.
    let mut app = TestApp::spawn().await;
    let (added, out) = app.cli(&["site", "add", SITE, "--name", "Ledger", "--origin", ORIGIN]);
    assert!(added, "{out}");
    let logs = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&mut app, logs.path(), VERBOSE).await;
    let mut secrets = Secrets::default();
    let mut step_log: Vec<&str> = Vec::new();

    // Emails are sealed at rest (SECURITY.md), so the address in clear is a secret too.
    let email = format!("ada.{}@example.org", unique());
    secrets.add("email address", &email);
    let first_password = format!("violet orchard {} kettle", unique());
    let wrong_password = format!("violet orchard {} kettel", unique());
    let reset_password = format!("amber lighthouse {} drizzle", unique());
    let changed_password = format!("seven quiet herons {} at dusk", unique());
    secrets.add("first password", &first_password);
    secrets.add("mistyped password", &wrong_password);
    secrets.add("password set by the reset", &reset_password);
    secrets.add("password set by the change", &changed_password);

    // Sign-up with the mailed link.
    let asked = app.ask_sign_up(SITE, &email).await;
    assert_eq!(asked.status(), 202, "{:?}", asked.text().await);
    let sign_up_token = app.mailed_token(SITE, &email, 1, SIGN_UP_FRAGMENT).await;
    secrets.add("sign-up (email verification) token", &sign_up_token);
    let created = signed(app.complete_sign_up(SITE, &sign_up_token, "Ada", &first_password).await, "sign-up").await;
    secrets.add_access_token("access token from sign-up", &created.access);
    secrets.add("refresh token from sign-up", &created.refresh);
    step_log.push("sign-up");

    // A mistyped password, from a client whose user agent tries to forge a log line; then
    // the right one.
    let mistyped = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("origin", ORIGIN)
        .header("user-agent", FORGING_USER_AGENT)
        .json(&json!({"site": SITE, "email": email, "password": wrong_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(mistyped.status(), 401);
    wait_out_back_off().await;
    let by_password = signed(login(&app, &email, &first_password).await, "sign-in with the password").await;
    secrets.add_access_token("access token from sign-in", &by_password.access);
    secrets.add("refresh token from sign-in", &by_password.refresh);
    step_log.push("sign-in");

    // Refresh with the cookie.
    let refreshed =
        signed(app.cookie_request(SITE, "/api/v1/auth/refresh", &by_password.refresh).send().await.unwrap(), "refresh")
            .await;
    secrets.add_access_token("access token from refresh", &refreshed.access);
    secrets.add("refresh token from refresh", &refreshed.refresh);
    step_log.push("refresh");

    // TOTP enrolment, confirmed with a code.
    let enrolment: TotpEnrollment =
        post_bearer(&app, "/api/v1/auth/mfa/totp", &refreshed.access, &json!({})).await.json().await.unwrap();
    secrets.add("TOTP secret", &enrolment.secret);
    secrets.add("TOTP otpauth URI", &enrolment.otpauth_uri);
    let totp = support::totp_secret(&enrolment.secret);
    let step = support::totp_step_now();
    let confirming_code = code(&totp, step);
    secrets.add_code("TOTP code confirming enrolment", &confirming_code);
    let confirmed =
        post_bearer(&app, "/api/v1/auth/mfa/totp/confirm", &refreshed.access, &json!({"code": confirming_code})).await;
    assert_eq!(confirmed.status(), 200);
    let recovery = confirmed.json::<RecoveryCodes>().await.unwrap().codes;
    for (n, code) in recovery.iter().enumerate() {
        secrets.add_recovery_code(&format!("recovery code {} (first set)", n + 1), code);
    }
    step_log.push("TOTP enrolment");

    // Sign-out, then sign-in with the password and a TOTP code.
    assert_eq!(app.cookie_request(SITE, "/api/v1/auth/logout", &refreshed.refresh).send().await.unwrap().status(), 204);
    let ticket = challenged(&app, &email, &first_password, &mut secrets, "TOTP sign-in").await;
    // The confirming code is spent; the next step's is within the allowed drift.
    let sign_in_code = code(&totp, step + 1);
    secrets.add_code("TOTP code signing in", &sign_in_code);
    let with_totp = signed(verify(&app, &ticket, &sign_in_code).await, "sign-in with a TOTP code").await;
    secrets.add_access_token("access token from TOTP sign-in", &with_totp.access);
    secrets.add("refresh token from TOTP sign-in", &with_totp.refresh);
    step_log.push("sign-out and sign-in with TOTP");

    // Sign-out, then sign-in with a recovery code.
    assert_eq!(app.cookie_request(SITE, "/api/v1/auth/logout", &with_totp.refresh).send().await.unwrap().status(), 204);
    let ticket = challenged(&app, &email, &first_password, &mut secrets, "recovery-code sign-in").await;
    let with_recovery = signed(verify(&app, &ticket, &recovery[0]).await, "sign-in with a recovery code").await;
    secrets.add_access_token("access token from recovery-code sign-in", &with_recovery.access);
    secrets.add("refresh token from recovery-code sign-in", &with_recovery.refresh);
    step_log.push("sign-in with a recovery code");

    // A forgotten password, reset with the mailed link; the second factor is still needed.
    let forgot = app
        .post_json(
            "/api/v1/auth/password/forgot",
            &json!({"site": SITE, "email": email, "return_to": format!("{ORIGIN}/help")}),
        )
        .await;
    assert_eq!(forgot.status(), 202);
    let reset_token = app.mailed_token(SITE, &email, 2, RESET_FRAGMENT).await;
    secrets.add("password reset token", &reset_token);
    let reset = app
        .post_json(
            "/api/v1/auth/password/reset",
            &json!({"site": SITE, "token": reset_token, "new_password": reset_password}),
        )
        .await;
    assert_eq!(reset.status(), 204, "{:?}", reset.text().await);
    let ticket = challenged(&app, &email, &reset_password, &mut secrets, "sign-in after the reset").await;
    // Typed as people type them: lower case.
    let after_reset = signed(verify(&app, &ticket, &recovery[1].to_lowercase()).await, "sign-in after the reset").await;
    secrets.add_access_token("access token after the reset", &after_reset.access);
    secrets.add("refresh token after the reset", &after_reset.refresh);
    step_log.push("password reset");

    // A password change and a new set of recovery codes, both asking for the password.
    let change = json!({"current_password": reset_password, "new_password": changed_password});
    let changed = post_bearer(&app, "/api/v1/auth/password", &after_reset.access, &change).await;
    assert_eq!(changed.status(), 204, "{:?}", changed.text().await);
    let regenerated = post_bearer(
        &app,
        "/api/v1/auth/mfa/recovery-codes",
        &after_reset.access,
        &json!({"password": changed_password}),
    )
    .await;
    assert_eq!(regenerated.status(), 200);
    for (n, code) in regenerated.json::<RecoveryCodes>().await.unwrap().codes.iter().enumerate() {
        secrets.add_recovery_code(&format!("recovery code {} (second set)", n + 1), code);
    }
    step_log.push("password change and new recovery codes");

    // A message over the WebSocket (which authenticates with the access token in its first
    // frame: there is no separate socket ticket), then an edit of it.
    let token = after_reset.access.clone();
    let room: RoomId = app.default_room(&token).await;
    let original = format!("the heron leaves at {} from the north pier", unique());
    let edited = format!("the heron leaves at {} from the south pier", unique());
    secrets.add("message text", &original);
    secrets.add("edited message text", &edited);
    let mut socket = app.ws_on(SITE, &token).await;
    socket.send(&ClientFrame::Subscribe { room, after_seq: 0 }).await;
    let client_id = ClientMessageId(Uuid::new_v4());
    socket.send(&ClientFrame::Send { room, client_id, body: original.clone() }).await;
    let id = loop {
        match socket.recv().await {
            ServerFrame::Ack { client_id: acked, id, .. } if acked == client_id => break id,
            _ => {}
        }
    };
    let edit = app
        .send_authed(
            reqwest::Method::PATCH,
            &format!("/api/v1/rooms/{room}/messages/{id}"),
            &token,
            &json!({"body": edited}),
        )
        .await;
    assert_eq!(edit.status(), 200, "{:?}", edit.text().await);
    assert_eq!(edit.json::<MessageView>().await.unwrap().body, edited);
    loop {
        match socket.recv().await {
            ServerFrame::Updated(view) if view.id == id => break,
            _ => {}
        }
    }
    let history: HistoryPage =
        app.get_authed(&format!("/api/v1/rooms/{room}/messages"), &token).await.json().await.unwrap();
    assert!(history.messages.iter().any(|m| m.id == id && m.body == edited));
    drop(socket);
    step_log.push("message sent over the WebSocket and edited");

    // The audit writer runs in the background: wait for the last event of the flow.
    app.audit_events("authn_mfa_codes_regenerated").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.terminate().await;
    assert!(status.success(), "the server did not stop cleanly: {status}");

    let stdout = std::fs::read_to_string(&server.stdout).unwrap();
    let stderr = std::fs::read_to_string(&server.stderr).unwrap();
    let store = palisade_store::Store::open(app.config.database_url().expose(), 1).unwrap();
    let query = palisade_store::audit::AuditQuery { limit: 100_000, ..Default::default() };
    let audit = store.with_connection(|c| palisade_store::audit::query(c, &query)).unwrap();

    // The capture is real: verbose lines and the flow's audit events are in it, and the
    // trail holds the flow's events, so an empty scan cannot pass for a clean one.
    let log = format!("{stdout}\n{stderr}");
    assert!(log.lines().count() >= 20, "only {} log lines: the capture is not working", log.lines().count());
    assert!(log.contains("\"level\":\"TRACE\""), "no trace lines: the verbose filter did not take");
    every_line_is_one_json_object_and_the_forgery_stayed_in_its_field(&stderr);
    for event in [
        "user_sign_up_requested",
        "user_created",
        "authn_login_fail",
        "authn_login_success",
        "authn_mfa_enabled",
        "authn_password_reset_requested",
        "authn_password_change",
        "authn_mfa_codes_regenerated",
    ] {
        assert!(log.contains(event), "the log has no {event} line: the capture misses audit events");
        assert!(audit.iter().any(|r| r.event == event), "the audit table has no {event} event");
    }
    assert!(secrets.0.len() >= 60, "only {} secrets collected", secrets.0.len());

    let mut scanner = Scanner::new(&secrets);
    scanner.scan("server stdout", &stdout);
    scanner.scan("server stderr", &stderr);
    for record in &audit {
        let fields = [
            ("event", Some(record.event.as_str())),
            ("outcome", Some(record.outcome.as_str())),
            ("ip", record.ip.as_deref()),
            ("user_agent", record.user_agent.as_deref()),
            ("details", Some(record.details.as_str())),
        ];
        for (field, value) in fields {
            if let Some(value) = value {
                scanner.scan(&format!("audit table, {} event {}, column {field}", record.event, record.id), value);
            }
        }
    }
    assert!(
        scanner.leaks.is_empty(),
        "secrets leaked into the server's output or the audit trail during the flow ({}):\n{}",
        step_log.join(", "),
        scanner.report()
    );
    eprintln!(
        "scanned {} log lines and {} audit rows for {} secrets in {} forms: none found",
        log.lines().count(),
        audit.len(),
        secrets.0.len(),
        scanner.needles.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The scanner itself: a scan that cannot find an encoded secret would pass for a clean one.

#[test]
fn every_form_of_a_secret_is_found_wherever_it_sits_in_a_longer_value() {
    assert_eq!(base64(b"Man", BASE64), "TWFu");
    assert_eq!(base64(b"hello?>", BASE64), "aGVsbG8/Pg");
    assert_eq!(base64(b"hello?>", BASE64_URL), "aGVsbG8_Pg");
    let text = Secret { what: "a password".into(), value: "violet orchard \"kettle\"".into(), kind: Kind::Text };
    let token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let hex_token = Secret { what: "a refresh token".into(), value: token.into(), kind: Kind::Text };
    let found = |secret: &Secret, haystack: &str| {
        let haystack = haystack.to_lowercase();
        forms(secret).iter().any(|(_, form)| occurs(&haystack, form, secret.kind))
    };
    for prefix in ["", "a", "ab", "abc"] {
        let wrapped = format!("{prefix}{}!", text.value);
        for alphabet in [BASE64, BASE64_URL] {
            assert!(found(&text, &base64(wrapped.as_bytes(), alphabet)), "base64 after {prefix:?}");
        }
        assert!(found(&text, &hex(wrapped.as_bytes())), "hex after {prefix:?}");
        let mut raw = prefix.as_bytes().to_vec();
        raw.extend(unhex(token).unwrap());
        assert!(found(&hex_token, &base64(&raw, BASE64)), "the token's bytes in base64 after {prefix:?}");
        assert!(found(&hex_token, &format!("{raw:?}")), "the token's bytes after {prefix:?}");
        assert!(found(&text, &format!("{:?}", wrapped.as_bytes())), "the bytes after {prefix:?}");
    }
    assert!(found(&text, &format!("body={}", serde_json::to_string(&text.value).unwrap())));
    assert!(found(&text, "q=violet+orchard+%22kettle%22&x"));
    assert!(found(&text, "q=VIOLET%20ORCHARD%20%22KETTLE%22"));
    assert!(found(&hex_token, &format!("cookie: {}", token.to_uppercase())));
    assert!(!found(&text, "violet orchard"), "a fragment is not the secret");
}

#[test]
fn a_code_counts_only_as_a_number_of_its_own() {
    for line in ["code=123456", "\"code\":\"123456\"", "code 123456.", "[123456]"] {
        assert!(occurs(line, "123456", Kind::Digits), "{line}");
    }
    for line in ["2026-11-29t11:29:14.123456z", "seq=91234567", "id=0123456a", "ab123456", "rate=0.123456"] {
        assert!(!occurs(line, "123456", Kind::Digits), "{line}");
    }
}
