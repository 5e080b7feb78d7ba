//! Editing and deleting messages against the real server: only authors edit, earlier texts are
//! kept for the author and staff, deletions leave a tombstone without text, moderation reaches
//! only down, and subscribers see every change live.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use palisade_protocol::messages::{HistoryPage, MessageVersions, MessageView};
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, ErrorBody, ErrorCode, MessageId, RoomId};
use reqwest::Method;
use serde_json::{Value, json};
use support::{SITE, Socket, TestApp};
use uuid::Uuid;

struct Person {
    email: String,
    token: String,
}

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    let (ok, out) = app.cli(&["site", "mfa-policy", SITE, "--roles"]);
    assert!(ok, "{out}");
    app
}

async fn person(app: &TestApp, name: &str, role: Option<&str>) -> Person {
    let email = format!("{}@example.org", name.to_lowercase());
    let mut token = app.token(&email, name).await;
    if let Some(role) = role {
        let (ok, out) = app.cli(&["user", "role", "--role", role, "--site", SITE, "--email", &email]);
        assert!(ok, "{out}");
        token = app.token_signed_in(&email).await;
    }
    Person { email, token }
}

/// Sends `body` and returns the stored message's id.
async fn say(app: &TestApp, who: &Person, room: RoomId, body: &str) -> MessageId {
    let mut socket = app.ws(&who.token).await;
    let client_id = ClientMessageId(Uuid::new_v4());
    socket.send(&ClientFrame::Send { room, client_id, body: body.to_owned() }).await;
    match socket.recv().await {
        ServerFrame::Ack { id, .. } => id,
        other => panic!("expected an ack for {}, got {other:?}", who.email),
    }
}

async fn edit(app: &TestApp, who: &Person, room: RoomId, id: MessageId, body: &str) -> reqwest::Response {
    let path = format!("/api/v1/rooms/{room}/messages/{id}");
    app.send_authed(Method::PATCH, &path, &who.token, &json!({"body": body})).await
}

async fn delete(app: &TestApp, who: &Person, room: RoomId, id: MessageId) -> reqwest::Response {
    app.send_authed(Method::DELETE, &format!("/api/v1/rooms/{room}/messages/{id}"), &who.token, &Value::Null).await
}

async fn versions(app: &TestApp, who: &Person, room: RoomId, id: MessageId) -> reqwest::Response {
    app.get_authed(&format!("/api/v1/rooms/{room}/messages/{id}/versions"), &who.token).await
}

async fn message(app: &TestApp, who: &Person, room: RoomId, id: MessageId) -> MessageView {
    let page: HistoryPage =
        app.get_authed(&format!("/api/v1/rooms/{room}/messages"), &who.token).await.json().await.unwrap();
    page.messages.into_iter().find(|m| m.id == id).expect("the message keeps its place in history")
}

async fn next_update(socket: &mut Socket) -> MessageView {
    loop {
        match socket.recv().await {
            ServerFrame::Updated(view) => return view,
            ServerFrame::Message(_) => {}
            other => panic!("expected an update, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn authors_edit_their_own_messages_and_subscribers_see_the_new_text() {
    let app = app().await;
    let ada = person(&app, "Ada", None).await;
    let bob = person(&app, "Bob", None).await;
    let moderator = person(&app, "Mo", Some("moderator")).await;
    let room = app.default_room(&ada.token).await;
    let mut watching = app.ws(&bob.token).await;
    watching.send(&ClientFrame::Subscribe { room, after_seq: 0 }).await;
    let id = say(&app, &ada, room, "teh first text").await;

    let edited = edit(&app, &ada, room, id, "the first text").await;
    assert_eq!(edited.status(), 200);
    let edited: MessageView = edited.json().await.unwrap();
    assert!(edited.edited_at.is_some());
    let live = next_update(&mut watching).await;
    assert_eq!((live.id, live.body.as_str()), (id, "the first text"));
    assert_eq!(message(&app, &bob, room, id).await.body, "the first text");

    let refused = edit(&app, &bob, room, id, "Bob was here").await;
    assert_eq!(refused.status(), 403);
    assert_eq!(edit(&app, &moderator, room, id, "Mo was here").await.status(), 403, "not even staff rewrite words");
    assert_eq!(edit(&app, &ada, room, id, "").await.status(), 422);
    assert_eq!(edit(&app, &ada, room, MessageId(Uuid::new_v4()), "x").await.status(), 404);

    edit(&app, &ada, room, id, "the final text").await;
    for reader in [&ada, &moderator] {
        let response = versions(&app, reader, room, id).await;
        assert_eq!(response.status(), 200);
        let earlier: MessageVersions = response.json().await.unwrap();
        let texts: Vec<&str> = earlier.versions.iter().map(|v| v.body.as_str()).collect();
        assert_eq!(texts, ["teh first text", "the first text"], "oldest first");
    }
    assert_eq!(versions(&app, &bob, room, id).await.status(), 403, "other members do not read earlier texts");
}

#[tokio::test]
async fn a_deleted_message_leaves_a_tombstone_without_any_of_its_texts() {
    let app = app().await;
    let ada = person(&app, "Ada", None).await;
    let bob = person(&app, "Bob", None).await;
    let room = app.default_room(&ada.token).await;
    let id = say(&app, &ada, room, "oops, my password is hunter2").await;
    edit(&app, &ada, room, id, "oops").await;
    let mut watching = app.ws(&bob.token).await;
    watching.send(&ClientFrame::Subscribe { room, after_seq: 0 }).await;

    assert_eq!(delete(&app, &bob, room, id).await.status(), 403, "members delete only their own");
    assert_eq!(delete(&app, &ada, room, id).await.status(), 204);
    let live = next_update(&mut watching).await;
    assert!(live.deleted && live.body.is_empty());
    let tombstone = message(&app, &bob, room, id).await;
    assert!(tombstone.deleted && tombstone.body.is_empty() && !tombstone.unavailable);
    let earlier: MessageVersions = versions(&app, &ada, room, id).await.json().await.unwrap();
    assert!(earlier.versions.is_empty(), "the earlier texts went with it");
    let again = edit(&app, &ada, room, id, "back").await;
    assert_eq!(again.status(), 409);
    assert_eq!(again.json::<ErrorBody>().await.unwrap().error, ErrorCode::Conflict);
    assert_eq!(delete(&app, &ada, room, id).await.status(), 204, "deleting twice is not an error");
}

#[tokio::test]
async fn staff_delete_the_messages_of_people_below_them_and_no_one_else() {
    let app = app().await;
    let admin = person(&app, "Ann", Some("admin")).await;
    let moderator = person(&app, "Mo", Some("moderator")).await;
    let troll = person(&app, "Troll", None).await;
    let room = app.default_room(&admin.token).await;
    let spam = say(&app, &troll, room, "buy now").await;
    let announcement = say(&app, &admin, room, "welcome").await;

    assert_eq!(delete(&app, &moderator, room, announcement).await.status(), 403);
    assert!(!message(&app, &troll, room, announcement).await.deleted);
    assert_eq!(delete(&app, &moderator, room, spam).await.status(), 204);
    assert!(message(&app, &troll, room, spam).await.deleted);
    let logged = app.audit_events("authz_admin").await;
    assert!(logged[0].details.contains("delete_any_message"));

    let other_room: palisade_protocol::rooms::RoomSummary = app
        .send_authed(Method::POST, "/api/v1/rooms", &admin.token, &json!({"kind": "private", "name": "Staff"}))
        .await
        .json()
        .await
        .unwrap();
    let response = delete(&app, &moderator, other_room.id, announcement).await;
    assert_eq!(response.status(), 404, "a message is reached only through a room one may see");
}
