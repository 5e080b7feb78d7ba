//! Encryption at rest against the real server: what a database thief sees, what a database
//! writer can and cannot do, start-up refusals, and key rotation while messages flow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use palisade_protocol::messages::HistoryPage;
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, RoomId};
use support::TestApp;
use uuid::Uuid;

fn is_postgres(app: &TestApp) -> bool {
    app.config.database_url().expose().starts_with("postgres")
}

/// Everything a thief of the database would hold: the SQLite file and its WAL, or every row
/// of the PostgreSQL tables as plain SQL renders them.
fn stolen_bytes(app: &TestApp) -> Vec<u8> {
    let url = app.config.database_url().expose().to_owned();
    if is_postgres(app) {
        #[derive(diesel::QueryableByName)]
        struct Dump {
            #[diesel(sql_type = diesel::sql_types::Text)]
            dump: String,
        }
        let mut conn = diesel::pg::PgConnection::establish(&url).unwrap();
        let rows: Vec<Dump> = diesel::sql_query(
            "SELECT row_to_json(m)::text AS dump FROM messages m \
             UNION ALL SELECT row_to_json(e)::text FROM message_edits e \
             UNION ALL SELECT row_to_json(u)::text FROM users u \
             UNION ALL SELECT row_to_json(t)::text FROM mfa_totp t",
        )
        .load(&mut conn)
        .unwrap();
        rows.into_iter().flat_map(|r| r.dump.into_bytes()).collect()
    } else {
        let mut bytes = std::fs::read(&url).unwrap();
        bytes.extend(std::fs::read(format!("{url}-wal")).unwrap_or_default());
        bytes
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn execute(app: &TestApp, sql: &str) {
    let url = app.config.database_url().expose().to_owned();
    if is_postgres(app) {
        diesel::sql_query(sql).execute(&mut diesel::pg::PgConnection::establish(&url).unwrap()).unwrap();
    } else {
        let mut conn = diesel::sqlite::SqliteConnection::establish(&url).unwrap();
        // The running server writes too (the audit trail); wait for it rather than fail.
        diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut conn).unwrap();
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
}

async fn send(socket: &mut support::Socket, room: RoomId, body: &str) -> u64 {
    socket.send(&ClientFrame::Send { room, client_id: ClientMessageId(Uuid::new_v4()), body: body.into() }).await;
    loop {
        match socket.recv().await {
            ServerFrame::Ack { seq, .. } => return seq,
            ServerFrame::Message(_) => {}
            other => panic!("expected ack, got {other:?}"),
        }
    }
}

async fn history(app: &TestApp, token: &str, room: RoomId) -> HistoryPage {
    app.get_authed(&format!("/api/v1/rooms/{room}/messages?limit=100"), token).await.json().await.unwrap()
}

/// Runs `palisade-server keys …` against the test app's database and data dir.
fn keys(app: &TestApp, args: &[&str]) -> (bool, String) {
    app.cli(&[&["keys"], args].concat())
}

#[tokio::test]
async fn a_database_thief_learns_no_message_text_no_email_and_no_totp_secret() {
    let app = TestApp::spawn().await;
    let canary = format!("canary-{}", Uuid::new_v4().simple());
    let email = format!("{canary}@example.org");
    let token = app.token(&email, "Ada").await;
    let room = app.default_room(&token).await;
    let mut socket = app.ws(&token).await;
    send(&mut socket, room, &format!("the secret is {canary}")).await;
    let page = history(&app, &token, room).await;
    assert_eq!(page.messages[0].body, format!("the secret is {canary}"));
    // Edited twice: the first text and the second live on as sealed earlier versions.
    let message = format!("/api/v1/rooms/{room}/messages/{}", page.messages[0].id);
    for body in [format!("second {canary}"), "nothing to see".to_owned()] {
        let edited =
            app.send_authed(reqwest::Method::PATCH, &message, &token, &serde_json::json!({"body": body})).await;
        assert_eq!(edited.status(), 200);
    }
    let enrollment: palisade_protocol::mfa::TotpEnrollment =
        app.http.post(app.url("/api/v1/auth/mfa/totp")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();

    let stolen = stolen_bytes(&app);
    assert!(!stolen.is_empty());
    let secret = support::totp_secret(&enrollment.secret).expose_bytes().to_vec();
    let secret_hex = hex_of_bytes(&secret);
    let needles = [
        canary.as_bytes().to_vec(),
        hex_of(&canary).into_bytes(),
        email.to_uppercase().into_bytes(),
        enrollment.secret.clone().into_bytes(),
        secret,
        secret_hex.into_bytes(),
    ];
    for needle in needles {
        assert!(!contains(&stolen, &needle), "the database holds {:?} in clear", String::from_utf8_lossy(&needle));
    }
}

fn hex_of(text: &str) -> String {
    hex_of_bytes(text.as_bytes())
}

fn hex_of_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_row_does_not_open_and_nothing_else_breaks() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&token).await;
    let mut socket = app.ws(&token).await;
    send(&mut socket, room, "first").await;
    send(&mut socket, room, "second").await;

    // A writer to the database copies message 1's ciphertext over message 2.
    execute(&app, "UPDATE messages SET body_sealed = (SELECT body_sealed FROM messages WHERE seq = 1) WHERE seq = 2");

    let page = history(&app, &token, room).await;
    assert_eq!((page.messages[0].body.as_str(), page.messages[0].unavailable), ("first", false));
    assert_eq!((page.messages[1].body.as_str(), page.messages[1].unavailable), ("", true));
    assert_eq!(send(&mut socket, room, "third").await, 3);
    assert!(app.is_healthy().await);

    // The operator sees which row failed, in the audit trail and the metrics.
    let failures = app.audit_events("crypt_decrypt_fail").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    let details: serde_json::Value = serde_json::from_str(&failures[0].details).unwrap();
    assert_eq!(details["table"], "messages");
    assert_eq!(details["row"], page.messages[1].id.to_string());
    assert_eq!(failures[0].outcome, "failure");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"palisade_audit_events_total{event="crypt_decrypt_fail",outcome="failure"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn start_up_refuses_an_open_key_file_and_a_wrong_kek() {
    let app = TestApp::spawn().await;
    let kek = app.config.data_dir.join("keys").join("kek.key");
    assert_eq!(std::fs::metadata(&kek).unwrap().permissions().mode() & 0o777, 0o600);

    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = palisade_server::start(&app.config).expect_err("a world-readable KEK must be refused");
    assert!(refused.to_string().contains("chmod"), "{refused}");

    std::fs::remove_file(&kek).unwrap();
    let refused = palisade_server::start(&app.config).expect_err("a missing KEK must be refused, not recreated");
    assert!(refused.to_string().to_lowercase().contains("restore"), "{refused}");
    assert!(!kek.exists(), "no new KEK may be created over existing data");

    std::fs::write(&kek, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).unwrap();
    let refused = palisade_server::start(&app.config).expect_err("a wrong KEK must be refused");
    assert!(refused.to_string().contains("does not unwrap"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_under_load_and_the_old_key_retires_only_when_unused() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&token).await;
    let mut socket = app.ws(&token).await;
    for n in 0..30 {
        send(&mut socket, room, &format!("before {n}")).await;
    }
    let first = history(&app, &token, room).await.messages[0].id;
    let first = format!("/api/v1/rooms/{room}/messages/{first}");
    let edit = serde_json::json!({"body": "before 0, edited"});
    assert_eq!(app.send_authed(reqwest::Method::PATCH, &first, &token, &edit).await.status(), 200);

    let sender = {
        let token = token.clone();
        let app_ws = app.ws(&token).await;
        tokio::spawn(async move {
            let mut socket = app_ws;
            for n in 0..60 {
                send(&mut socket, room, &format!("during {n}")).await;
            }
        })
    };
    let (ok, out) = keys(&app, &["rotate"]);
    assert!(ok, "{out}");
    assert!(out.contains("key 2 is now active"), "{out}");
    let (ok, out) = keys(&app, &["retire", "1"]);
    assert!(!ok && out.contains("still seals"), "retiring a key in use must be refused: {out}");
    sender.await.unwrap();

    // The server picks up the new key and re-encrypts everything under it in the background.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, out) = keys(&app, &["status"]);
        assert!(ok, "{out}");
        if out.contains("values still to re-encrypt under key 2: 0") {
            break;
        }
        assert!(Instant::now() < deadline, "re-encryption did not finish: {out}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (ok, out) = keys(&app, &["retire", "1"]);
    assert!(ok, "{out}");

    // The progress is in the metrics too: 90 bodies, one earlier version and one email under
    // key 2, none left.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = app.metrics().await;
        let done = metrics.contains(r#"palisade_sealed_values{key="2"} 92"#)
            && metrics.contains("palisade_reencrypt_remaining 0")
            && !metrics.contains("palisade_reencrypted_values_total 0");
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "metrics never showed the finished re-encryption:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let page = history(&app, &token, room).await;
    assert_eq!(page.messages.len(), 90);
    assert!(page.messages.iter().all(|m| !m.unavailable && !m.body.is_empty()));
    let versions: palisade_protocol::messages::MessageVersions =
        app.get_authed(&format!("{first}/versions"), &token).await.json().await.unwrap();
    assert_eq!(versions.versions[0].body, "before 0", "the earlier version was re-sealed, not lost");
    let login = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"site": support::SITE, "email": "ADA@example.org", "password": support::PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 200, "the email index still finds the account");
}

#[tokio::test]
async fn the_kek_can_be_replaced_and_the_old_one_then_opens_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&token).await;
    let mut socket = app.ws(&token).await;
    send(&mut socket, room, "kept across a KEK change").await;

    let new_kek = app.config.data_dir.join("keys").join("kek-2.key");
    let (ok, out) = keys(&app, &["rotate-kek", "--new-kek-file", new_kek.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(std::fs::metadata(&new_kek).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(palisade_server::start(&app.config).is_err(), "the old KEK must no longer unwrap the data keys");

    let mut config = app.config.clone();
    config.kek_file = Some(new_kek);
    config.listen = "127.0.0.1:0".into();
    let running = palisade_server::start(&config).unwrap();
    let restarted = format!("http://{}", running.addr);
    tokio::spawn(running.run());
    let page: HistoryPage = app
        .http
        .get(format!("{restarted}/api/v1/rooms/{room}/messages"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.messages[0].body, "kept across a KEK change");
}
