//! Site settings managed with the CLI against the real server: changing and removing a site,
//! invite-only sign-up, and message retention.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use palisade_protocol::auth::SIGN_UP_FRAGMENT;
use palisade_protocol::messages::HistoryPage;
use palisade_protocol::rooms::RoomList;
use palisade_protocol::sites::{SignUpMode, SiteInfo};
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, RoomId};
use palisade_store::Store;
use palisade_store::audit::AuditRecord;
use serde_json::Value;
use support::{ORIGIN, OTHER_ORIGIN, OTHER_SITE, PASSWORD, SITE, TestApp};
use uuid::Uuid;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn detail(event: &AuditRecord) -> Value {
    serde_json::from_str(&event.details).unwrap()
}

fn store(app: &TestApp) -> Store {
    Store::open(app.config.database_url().expose(), 1).unwrap()
}

/// `GET /api/v1/sites/{site}` as the widget on the site's page asks it.
async fn site_info(app: &TestApp, site: &str, origin: &str) -> reqwest::Response {
    app.http.get(app.url(&format!("/api/v1/sites/{site}"))).header("origin", origin).send().await.unwrap()
}

async fn sign_up_mode(app: &TestApp, site: &str, origin: &str) -> SignUpMode {
    let response = site_info(app, site, origin).await;
    assert_eq!(response.status(), 200);
    response.json::<SiteInfo>().await.unwrap().sign_up
}

/// Sends `count` messages to `room` of `site` and returns their sequence numbers.
async fn send(app: &TestApp, site: &str, token: &str, room: RoomId, count: usize) -> Vec<u64> {
    let mut socket = app.ws_on(site, token).await;
    let mut seqs = Vec::new();
    for n in 0..count {
        let frame =
            ClientFrame::Send { room, client_id: ClientMessageId(Uuid::new_v4()), body: format!("message {n}") };
        socket.send(&frame).await;
        match socket.recv().await {
            ServerFrame::Ack { seq, .. } => seqs.push(seq),
            other => panic!("expected an ack, got {other:?}"),
        }
    }
    seqs
}

async fn history(app: &TestApp, token: &str, room: RoomId) -> Vec<u64> {
    let page: HistoryPage =
        app.get_authed(&format!("/api/v1/rooms/{room}/messages"), token).await.json().await.unwrap();
    page.messages.iter().map(|m| m.seq).collect()
}

#[tokio::test]
async fn update_changes_only_what_it_is_given_and_refuses_bad_input() {
    let app = TestApp::spawn().await;
    assert_eq!(sign_up_mode(&app, SITE, ORIGIN).await, SignUpMode::Open);

    let (ok, out) = app.cli(&["site", "update", SITE, "--sign-up", "invite-only", "--retention-days", "30"]);
    assert!(ok, "{out}");
    let (ok, out) = app.cli(&["site", "list"]);
    assert!(ok, "{out}");
    let acme = format!("{SITE}\t{SITE}\t{ORIGIN}\tsign-up invite_only\tmessages kept 30 days");
    assert!(out.lines().any(|line| line == acme), "{out}");
    assert!(out.contains(&format!("{OTHER_SITE}\t{OTHER_SITE}\t{OTHER_ORIGIN}\tsign-up open\tmessages kept forever")));
    let info: SiteInfo = site_info(&app, SITE, ORIGIN).await.json().await.unwrap();
    assert_eq!(info, SiteInfo { name: SITE.into(), sign_up: SignUpMode::InviteOnly });

    let (ok, out) = app.cli(&["site", "update", SITE, "--keep-forever", "--name", "Acme Inc"]);
    assert!(ok && out.contains("Acme Inc") && out.contains("invite_only") && out.contains("kept forever"), "{out}");

    for (args, says) in [
        (vec!["--retention-days", "0"], "0"),
        (vec!["--retention-days", "100000"], "100000"),
        (vec!["--retention-days", "7", "--keep-forever"], "--keep-forever"),
        (vec!["--sign-up", "closed"], "closed"),
        (vec!["--origin", "https://acme.example/chat"], "https://acme.example/chat"),
        (vec![], "nothing to change"),
    ] {
        let (ok, out) = app.cli(&[&["site", "update", SITE][..], &args].concat());
        assert!(!ok && out.contains(says), "{args:?}: {out}");
    }
    let (ok, out) = app.cli(&["site", "update", "nope", "--sign-up", "open"]);
    assert!(!ok && out.contains("there is no site nope"), "{out}");
    // Nothing the refused commands asked for happened.
    assert!(app.cli(&["site", "list"]).1.contains(&format!("{SITE}\tAcme Inc\t{ORIGIN}\tsign-up invite_only")));

    let updates = app.audit_events_at_least("sensitive_update", 2).await;
    assert_eq!(updates.len(), 2, "one per change that happened");
    let first = detail(updates.last().unwrap());
    assert_eq!((first["sign_up"].as_str(), first["retention_days"].as_u64()), (Some("invite_only"), Some(30)));
    assert!(first.get("name").is_none(), "only what changed: {first}");
    let second = detail(&updates[0]);
    assert_eq!((second["name"].as_str(), second["retention_days"].is_null()), (Some("Acme Inc"), true));
    assert!(second.get("sign_up").is_none(), "only what changed: {second}");
}

#[tokio::test]
async fn removing_a_site_removes_its_accounts_and_messages_but_not_its_audit_trail() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    send(&app, SITE, &ada, app.default_room(&ada).await, 2).await;
    let bob = app.token_on(OTHER_SITE, "bob@example.org", "Bob").await;
    send(&app, OTHER_SITE, &bob, app.default_room(&bob).await, 1).await;
    let usage = |app: &TestApp| store(app).with_connection(|c| palisade_store::vault_keys::usage(c, 1)).unwrap();
    assert_eq!((usage(&app).users, usage(&app).messages), (2, 3));

    let (ok, out) = app.cli(&["site", "remove", SITE, "--confirm", OTHER_SITE]);
    assert!(!ok && out.contains("nothing was removed"), "{out}");
    let (ok, out) = app.cli(&["site", "remove", SITE]);
    assert!(!ok && out.contains("--confirm"), "{out}");
    assert_eq!(app.get_authed("/api/v1/rooms", &ada).await.status(), 200);

    let (ok, out) = app.cli(&["site", "remove", SITE, "--confirm", SITE]);
    assert!(ok && out.contains("1 accounts") && out.contains("2 messages"), "{out}");
    assert_eq!((usage(&app).users, usage(&app).messages), (1, 1), "only the other site's are left");
    assert_eq!(app.get_authed("/api/v1/rooms", &ada).await.status(), 401);
    assert_eq!(site_info(&app, SITE, ORIGIN).await.status(), 404);
    assert_eq!(app.ask_sign_up(SITE, "ada@example.org").await.status(), 404);
    assert_eq!(app.get_authed("/api/v1/rooms", &bob).await.status(), 200);
    let (ok, out) = app.cli(&["site", "remove", SITE, "--confirm", SITE]);
    assert!(!ok && out.contains("there is no site acme"), "{out}");

    let removed = app.audit_events("sensitive_delete").await;
    assert_eq!(removed.len(), 1);
    let site_id = removed[0].site_id;
    assert_eq!(
        (detail(&removed[0])["public_id"].as_str(), detail(&removed[0])["users"].as_u64()),
        (Some(SITE), Some(1))
    );
    let created = app.audit_events_at_least("user_created", 2).await;
    assert!(created.iter().any(|event| event.site_id == site_id), "the trail outlives the site");
}

#[tokio::test]
async fn an_invite_only_site_mails_no_sign_up_link_and_answers_as_before() {
    let app = TestApp::spawn().await;
    app.token("ada@example.org", "Ada").await;
    assert!(app.cli(&["site", "update", SITE, "--sign-up", "invite-only"]).0);
    assert_eq!(sign_up_mode(&app, SITE, ORIGIN).await, SignUpMode::InviteOnly);

    let new = app.ask_sign_up(SITE, "grace@example.org").await;
    let existing = app.ask_sign_up(SITE, "ada@example.org").await;
    assert_eq!((new.status().as_u16(), existing.status().as_u16()), (202, 202));
    assert_eq!(new.text().await.unwrap(), existing.text().await.unwrap());

    // The account's owner still gets the note; the stranger gets nothing.
    let note = app.mail.wait_for_mail_to("ada@example.org", 2).await.unwrap();
    assert!(note.text.contains("You already have one"), "{}", note.text);
    let asked = app.audit_events_at_least("user_sign_up_requested", 3).await;
    let refused: Vec<_> = asked.iter().filter(|event| event.outcome == "failure").collect();
    assert_eq!(refused.len(), 1, "{asked:?}");
    assert_eq!(detail(refused[0])["reason"], "invite_only");
    assert_eq!(detail(refused[0])["mailed"], false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.mail.mails_to("grace@example.org").is_empty());

    // Another site's choice is its own.
    assert_eq!(sign_up_mode(&app, OTHER_SITE, OTHER_ORIGIN).await, SignUpMode::Open);
    assert_eq!(app.register(OTHER_SITE, "grace@example.org", "Grace").await.status(), 201);
}

// Multi-threaded: the command blocks one thread while it mails through the sink on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_creates_an_account_on_an_invite_only_site() {
    let app = TestApp::spawn().await;
    assert!(app.cli(&["site", "update", SITE, "--sign-up", "invite-only"]).0);
    let invite = |email: &str, page: Option<&str>| {
        let mut args = vec!["user", "invite", "--site", SITE, "--email", email];
        args.extend(page.map(|page| ["--page", page]).into_iter().flatten());
        app.cli(&args)
    };
    let (ok, out) = invite("Grace@example.org", Some("https://acme.example/help"));
    assert!(ok && out.contains("invitation mailed"), "{out}");
    let token = app.mailed_token(SITE, "grace@example.org", 1, SIGN_UP_FRAGMENT).await;
    assert!(app.mail.mails_to("grace@example.org")[0].text.contains("You are invited"));
    assert_eq!(app.complete_sign_up(SITE, &token, "Grace", PASSWORD).await.status(), 201);

    let (ok, out) = invite("grace@example.org", None);
    assert!(!ok && out.contains("already has an account"), "{out}");
    let (ok, out) = invite("alan@example.org", Some("https://evil.example/help"));
    assert!(!ok && out.contains("not a page on an origin"), "{out}");
    let (ok, out) = app.cli(&["user", "invite", "--site", "nope", "--email", "alan@example.org"]);
    assert!(!ok && out.contains("there is no site nope"), "{out}");
    // Without --page the link opens the site's first origin.
    assert!(invite("alan@example.org", None).0);
    let mail = app.mail.wait_for_mail_to("alan@example.org", 1).await.unwrap();
    assert!(mail.token(&format!("{ORIGIN}/"), SIGN_UP_FRAGMENT).is_some(), "{}", mail.text);

    let invited = app.audit_events_at_least("user_sign_up_requested", 2).await;
    assert_eq!(invited.len(), 2, "one per invitation mailed");
    assert!(invited.iter().all(|event| detail(event)["invited"] == true && event.outcome == "success"));
    let created = app.audit_events("user_created").await;
    assert_eq!(created[0].actor_id, invited[1].actor_id, "the invitation names the account it became");
    assert_eq!(detail(&created[0])["invited"], true);
}

#[tokio::test]
async fn a_link_asked_for_while_open_does_not_work_once_the_site_is_invite_only() {
    let app = TestApp::spawn().await;
    assert_eq!(app.ask_sign_up(SITE, "grace@example.org").await.status(), 202);
    let token = app.mailed_token(SITE, "grace@example.org", 1, SIGN_UP_FRAGMENT).await;
    assert!(app.cli(&["site", "update", SITE, "--sign-up", "invite-only"]).0);

    let refused = app.complete_sign_up(SITE, &token, "Grace", PASSWORD).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    assert!(body["message"].as_str().unwrap().contains("invitation"), "{body}");
    let failed = app.audit_events("user_created").await;
    assert_eq!((failed[0].outcome.as_str(), detail(&failed[0])["reason"].as_str()), ("failure", Some("invite_only")));

    // The choice is the site's: open again, the same link works.
    assert!(app.cli(&["site", "update", SITE, "--sign-up", "open"]).0);
    assert_eq!(app.complete_sign_up(SITE, &token, "Grace", PASSWORD).await.status(), 201);
}

#[tokio::test]
async fn housekeeping_deletes_messages_past_retention_and_sequence_numbers_go_on() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    assert_eq!(send(&app, SITE, &ada, room, 3).await, vec![1, 2, 3]);
    let bob = app.token_on(OTHER_SITE, "bob@example.org", "Bob").await;
    let other_room = app.default_room(&bob).await;
    send(&app, OTHER_SITE, &bob, other_room, 1).await;
    assert!(app.cli(&["site", "update", SITE, "--retention-days", "1"]).0);

    let now = palisade_store::now_millis();
    let store = store(&app);
    assert_eq!(palisade_server::app::prune_storage(&store, now).await.unwrap().messages, 0, "not a day old yet");
    assert_eq!(palisade_server::app::prune_storage(&store, now + 2 * DAY_MS).await.unwrap().messages, 3);

    assert!(history(&app, &ada, room).await.is_empty());
    assert_eq!(history(&app, &bob, other_room).await, vec![1], "a site without retention keeps everything");
    let rooms: RoomList = app.get_authed("/api/v1/rooms", &ada).await.json().await.unwrap();
    assert_eq!(rooms.rooms.iter().find(|r| r.id == room).unwrap().last_seq, 3);
    assert_eq!(send(&app, SITE, &ada, room, 1).await, vec![4], "sequence numbers are never reused");
    assert_eq!(history(&app, &ada, room).await, vec![4]);
}
