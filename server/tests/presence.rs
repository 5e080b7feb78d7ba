//! Ephemeral signals against the real server: typing notices (passed on to the room's other
//! subscribers, at most one per person, room and interval) and who is online on the site.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use palisade_protocol::presence::OnlineList;
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, ErrorCode};
use support::{Next, OTHER_SITE, TestApp};
use uuid::Uuid;

async fn online(app: &TestApp, token: &str) -> Vec<String> {
    let list: OnlineList = app.get_authed("/api/v1/presence", token).await.json().await.unwrap();
    list.online.into_iter().map(|person| person.display_name).collect()
}

#[tokio::test]
async fn typing_reaches_the_others_in_the_room_once_per_interval() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let bob = app.token("bob@example.org", "Bob").await;
    let room = app.default_room(&ada).await;
    let mut adas = app.ws(&ada).await;
    let mut bobs = app.ws(&bob).await;
    for socket in [&mut adas, &mut bobs] {
        socket.send(&ClientFrame::Subscribe { room, after_seq: 0 }).await;
    }
    // A message through the room first: once Bob has it, his subscription is live.
    let client_id = ClientMessageId(Uuid::new_v4());
    adas.send(&ClientFrame::Send { room, client_id, body: "hello".into() }).await;
    assert!(matches!(bobs.recv().await, ServerFrame::Message(m) if m.body == "hello"));
    assert!(matches!(adas.recv().await, ServerFrame::Ack { .. }));
    assert!(matches!(adas.recv().await, ServerFrame::Message(_)));
    adas.send(&ClientFrame::Typing { room }).await;
    adas.send(&ClientFrame::Typing { room }).await;
    adas.send(&ClientFrame::Typing { room }).await;
    let client_id = ClientMessageId(Uuid::new_v4());
    adas.send(&ClientFrame::Send { room, client_id, body: "done typing".into() }).await;

    match bobs.recv().await {
        ServerFrame::Typing { room: typed_in, user } => {
            assert_eq!((typed_in, user.display_name.as_str()), (room, "Ada"))
        }
        other => panic!("expected typing, got {other:?}"),
    }
    match bobs.recv().await {
        ServerFrame::Message(message) => assert_eq!(message.body, "done typing", "one notice per interval, not three"),
        other => panic!("expected the message, got {other:?}"),
    }
    match adas.recv().await {
        ServerFrame::Ack { .. } | ServerFrame::Message(_) => {}
        other => panic!("Ada is not told about her own typing: got {other:?}"),
    }

    let elsewhere = app.token_on(OTHER_SITE, "eve@example.org", "Eve").await;
    let mut eves = app.ws_raw(OTHER_SITE, Some(support::OTHER_ORIGIN)).await.unwrap();
    eves.send(&ClientFrame::Auth { access_token: elsewhere }).await;
    assert!(matches!(eves.recv().await, ServerFrame::Ready { .. }));
    eves.send(&ClientFrame::Typing { room }).await;
    match eves.recv().await {
        ServerFrame::Error { error, .. } => assert_eq!(error, ErrorCode::NotFound, "only subscribed rooms"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn people_are_online_while_any_of_their_sockets_is_open() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let bob = app.token("bob@example.org", "Bob").await;
    let eve = app.token_on(OTHER_SITE, "eve@example.org", "Eve").await;
    let mut watcher = app.ws(&ada).await;
    assert_eq!(online(&app, &ada).await, ["Ada"]);

    let first_tab = app.ws(&bob).await;
    match watcher.recv_any().await {
        ServerFrame::Presence { user, online } => assert_eq!((user.display_name.as_str(), online), ("Bob", true)),
        other => panic!("expected Bob online, got {other:?}"),
    }
    let second_tab = app.ws(&bob).await;
    assert_eq!(online(&app, &ada).await, ["Ada", "Bob"]);
    assert!(online(&app, &eve).await.is_empty(), "another site's people are not listed");

    drop(first_tab);
    drop(second_tab);
    match watcher.recv_any().await {
        ServerFrame::Presence { user, online } => {
            assert_eq!((user.display_name.as_str(), online), ("Bob", false), "offline once, after the last tab")
        }
        other => panic!("expected Bob offline, got {other:?}"),
    }
    assert_eq!(online(&app, &ada).await, ["Ada"]);
    watcher.stream.close(None).await.unwrap();
    assert!(matches!(watcher.next().await, Next::Closed(_)));
}
