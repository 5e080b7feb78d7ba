//! WebSocket delivery against the real server: authentication, live fan-out, history, resume,
//! idempotent retries, and hostile frames.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures_util::SinkExt;
use palisade_protocol::messages::HistoryPage;
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, ErrorCode, RoomId};
use support::{Next, ORIGIN, OTHER_ORIGIN, OTHER_SITE, SITE, Socket, TestApp};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

fn client_id() -> ClientMessageId {
    ClientMessageId(Uuid::new_v4())
}

fn send_frame(room: RoomId, id: ClientMessageId, body: &str) -> ClientFrame {
    ClientFrame::Send { room, client_id: id, body: body.to_owned() }
}

async fn expect_message(socket: &mut Socket) -> palisade_protocol::messages::MessageView {
    match socket.recv().await {
        ServerFrame::Message(message) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn expect_error(socket: &mut Socket) -> (ErrorCode, Option<ClientMessageId>) {
    match socket.recv().await {
        ServerFrame::Error { error, client_id, .. } => (error, client_id),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_message_sent_on_one_socket_arrives_on_another_and_in_history() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let bob = app.token("bob@example.org", "Bob").await;
    let room = app.default_room(&ada).await;

    let mut bob_socket = app.ws(&bob).await;
    bob_socket.send(&ClientFrame::Subscribe { room, after_seq: 0 }).await;
    let mut ada_socket = app.ws(&ada).await;
    let id = client_id();
    ada_socket.send(&send_frame(room, id, "hello <b>Bob</b>")).await;
    match ada_socket.recv().await {
        ServerFrame::Ack { client_id, seq, .. } => assert_eq!((client_id, seq), (id, 1)),
        other => panic!("expected ack, got {other:?}"),
    }

    let received = expect_message(&mut bob_socket).await;
    assert_eq!(received.body, "hello <b>Bob</b>");
    assert_eq!(received.author.display_name, "Ada");
    assert_eq!(received.seq, 1);

    let page: HistoryPage = app.get_authed(&format!("/api/v1/rooms/{room}/messages"), &bob).await.json().await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].id, received.id);
}

#[tokio::test]
async fn subscribing_replays_what_was_missed_then_goes_live_without_duplicates() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    let mut sender = app.ws(&ada).await;
    for n in 1..=3 {
        sender.send(&send_frame(room, client_id(), &format!("m{n}"))).await;
        assert!(matches!(sender.recv().await, ServerFrame::Ack { .. }));
    }
    let mut reader = app.ws(&ada).await;
    reader.send(&ClientFrame::Subscribe { room, after_seq: 1 }).await;
    assert_eq!(expect_message(&mut reader).await.seq, 2);
    assert_eq!(expect_message(&mut reader).await.seq, 3);
    sender.send(&send_frame(room, client_id(), "m4")).await;
    assert_eq!(expect_message(&mut reader).await.seq, 4);
}

#[tokio::test]
async fn a_retried_send_is_stored_once() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    let mut socket = app.ws(&ada).await;
    let id = client_id();
    let mut acks = Vec::new();
    for _ in 0..2 {
        socket.send(&send_frame(room, id, "once")).await;
        match socket.recv().await {
            ServerFrame::Ack { id, seq, .. } => acks.push((id, seq)),
            other => panic!("expected ack, got {other:?}"),
        }
    }
    assert_eq!(acks[0], acks[1]);
    let page: HistoryPage = app.get_authed(&format!("/api/v1/rooms/{room}/messages"), &ada).await.json().await.unwrap();
    assert_eq!(page.messages.len(), 1);
}

#[tokio::test]
async fn the_handshake_requires_an_allowed_origin() {
    let app = TestApp::spawn().await;
    for origin in [None, Some("https://evil.example"), Some(OTHER_ORIGIN)] {
        match app.ws_raw(SITE, origin).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{origin:?}")
            }
            other => panic!("handshake with {origin:?} should be refused, got {:?}", other.map(|_| ())),
        }
    }
    match app.ws_raw("no-such-site", Some(ORIGIN)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("unknown site should be refused, got {:?}", other.map(|_| ())),
    }
    assert!(app.ws_raw(SITE, Some(ORIGIN)).await.is_ok());
}

#[tokio::test]
async fn the_first_frame_must_authenticate() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;

    let mut socket = app.ws_raw(SITE, Some(ORIGIN)).await.unwrap();
    socket.send(&ClientFrame::Subscribe { room, after_seq: 0 }).await;
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::UnexpectedFrame);
    assert!(matches!(socket.next().await, Next::Closed(Some(reason)) if reason == "protocol_violation"));

    let mut socket = app.ws_raw(SITE, Some(ORIGIN)).await.unwrap();
    socket.send(&ClientFrame::Auth { access_token: "forged".into() }).await;
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::Unauthenticated);
    assert!(matches!(socket.next().await, Next::Closed(Some(reason)) if reason == "unauthenticated"));

    // A token from another site does not open this site's socket.
    let eve = app.token_on(OTHER_SITE, "eve@example.org", "Eve").await;
    let mut socket = app.ws_raw(SITE, Some(ORIGIN)).await.unwrap();
    socket.send(&ClientFrame::Auth { access_token: eve }).await;
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::Unauthenticated);
}

#[tokio::test]
async fn a_silent_socket_is_closed_after_the_auth_deadline() {
    let app = TestApp::spawn().await;
    let mut socket = app.ws_raw(SITE, Some(ORIGIN)).await.unwrap();
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::AuthTimeout);
    assert!(matches!(socket.next().await, Next::Closed(Some(reason)) if reason == "auth_timeout"));
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_connection_goes_on() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    let mut socket = app.ws(&ada).await;

    socket.send_text(r#"{"type":"shout","body":"hi"}"#).await;
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::MalformedRequest);
    socket.send_text("not json").await;
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::MalformedRequest);
    socket.send_text(&format!(r#"{{"type":"subscribe","room":"{room}","after_seq":0,"admin":true}}"#)).await;
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::MalformedRequest);

    let too_long = client_id();
    socket.send(&send_frame(room, too_long, &"x".repeat(palisade_protocol::limits::MESSAGE_BODY_MAX + 1))).await;
    assert_eq!(expect_error(&mut socket).await, (ErrorCode::ValidationFailed, Some(too_long)));
    let blank = client_id();
    socket.send(&send_frame(room, blank, "   ")).await;
    assert_eq!(expect_error(&mut socket).await, (ErrorCode::ValidationFailed, Some(blank)));

    let foreign = client_id();
    socket.send(&send_frame(RoomId(Uuid::new_v4()), foreign, "into the void")).await;
    assert_eq!(expect_error(&mut socket).await, (ErrorCode::NotFound, Some(foreign)));

    socket.send(&send_frame(room, client_id(), "still here")).await;
    assert!(matches!(socket.recv().await, ServerFrame::Ack { seq: 1, .. }));
}

#[tokio::test]
async fn another_sites_room_cannot_be_read_or_written_over_the_socket() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let eve = app.token_on(OTHER_SITE, "eve@example.org", "Eve").await;
    let eves_room = app.default_room(&eve).await;
    let mut socket = app.ws(&ada).await;
    socket.send(&ClientFrame::Subscribe { room: eves_room, after_seq: 0 }).await;
    assert_eq!(expect_error(&mut socket).await.0, ErrorCode::NotFound);
    let id = client_id();
    socket.send(&send_frame(eves_room, id, "hi Eve")).await;
    assert_eq!(expect_error(&mut socket).await, (ErrorCode::NotFound, Some(id)));
    let page: HistoryPage =
        app.get_authed(&format!("/api/v1/rooms/{eves_room}/messages"), &eve).await.json().await.unwrap();
    assert!(page.messages.is_empty());
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_connection() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    let mut socket = app.ws(&ada).await;
    socket.send(&send_frame(room, client_id(), "kept")).await;
    assert!(matches!(socket.recv().await, ServerFrame::Ack { .. }));

    let huge = format!(
        r#"{{"type":"send","room":"{room}","client_id":"{}","body":"{}"}}"#,
        Uuid::new_v4(),
        "x".repeat(70_000)
    );
    socket.send_text(&huge).await;
    assert!(matches!(socket.next().await, Next::Closed(_)));

    assert!(app.is_healthy().await);
    let page: HistoryPage = app.get_authed(&format!("/api/v1/rooms/{room}/messages"), &ada).await.json().await.unwrap();
    assert_eq!(page.messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["kept"]);
    let mut again = app.ws(&ada).await;
    again.send(&send_frame(room, client_id(), "after")).await;
    assert!(matches!(again.recv().await, ServerFrame::Ack { seq: 2, .. }));
}

#[tokio::test]
async fn a_sender_over_the_message_rate_is_told_to_retry_and_others_are_unaffected() {
    let app = TestApp::spawn_configured(|config| {
        config.messages_per_minute = std::num::NonZeroU32::new(60).unwrap();
        config.message_burst = std::num::NonZeroU32::new(3).unwrap();
    })
    .await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    let mut socket = app.ws(&ada).await;
    let ids: Vec<ClientMessageId> = (0..4).map(|_| client_id()).collect();
    for (n, id) in ids.iter().enumerate() {
        socket.send(&send_frame(room, *id, &format!("burst {n}"))).await;
    }
    let mut acked = 0;
    let mut refused = Vec::new();
    for _ in 0..4 {
        match socket.recv().await {
            ServerFrame::Ack { .. } => acked += 1,
            ServerFrame::Error { error, client_id, .. } => refused.push((error, client_id)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acked, 3, "the burst allowance");
    assert_eq!(refused, vec![(ErrorCode::RateLimited, Some(ids[3]))], "the refusal names the message to retry");

    // Another person's allowance is their own.
    let grace = app.token("grace@example.org", "Grace").await;
    let mut other = app.ws(&grace).await;
    other.send(&send_frame(room, client_id(), "hello")).await;
    assert!(matches!(other.recv().await, ServerFrame::Ack { .. }));
    // And the retry goes through once a second has refilled one message.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    socket.send(&send_frame(room, ids[3], "burst 3")).await;
    loop {
        match socket.recv().await {
            ServerFrame::Ack { client_id, .. } => {
                assert_eq!(client_id, ids[3]);
                break;
            }
            ServerFrame::Message(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(app.metrics().await.contains(r#"palisade_rate_limited_total{class="message"} 1"#));
}

#[tokio::test]
async fn a_connection_over_its_frame_rate_is_refused_then_closed_while_its_other_sockets_go_on() {
    let app = TestApp::spawn_configured(|config| {
        config.ws_frames_per_minute = std::num::NonZeroU32::new(60).unwrap();
        config.ws_frame_burst = std::num::NonZeroU32::new(3).unwrap();
    })
    .await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    let mut flooding = app.ws(&ada).await;
    let ids: Vec<ClientMessageId> = (0..4).map(|_| client_id()).collect();
    for (n, id) in ids.iter().enumerate() {
        flooding.send(&send_frame(room, *id, &format!("frame {n}"))).await;
    }
    for _ in 0..3 {
        assert!(matches!(flooding.recv().await, ServerFrame::Ack { .. }), "the burst allowance");
    }
    assert_eq!(expect_error(&mut flooding).await, (ErrorCode::RateLimited, Some(ids[3])), "names the message");

    // The allowance is the connection's: the same person's other socket is not slowed.
    let mut other = app.ws(&ada).await;
    other.send(&send_frame(room, client_id(), "from the other socket")).await;
    loop {
        match other.recv().await {
            ServerFrame::Ack { .. } => break,
            ServerFrame::Message(_) => {}
            frame => panic!("unexpected {frame:?}"),
        }
    }

    // A connection that keeps going after being told is closed. (A frame let through by a
    // refill is answered `not_found`: typing needs a subscription.)
    let typing = r#"{"type":"typing","room":"00000000-0000-0000-0000-000000000000"}"#;
    for _ in 0..60 {
        if flooding.stream.send(Message::text(typing)).await.is_err() {
            break;
        }
    }
    let reason = loop {
        match flooding.next().await {
            Next::Frame(ServerFrame::Error { .. } | ServerFrame::Message(_) | ServerFrame::Presence { .. }) => {}
            Next::Frame(frame) => panic!("unexpected {frame:?}"),
            Next::Closed(reason) => break reason,
        }
    };
    assert_eq!(reason.as_deref(), Some("rate_limited"));
    assert!(app.metrics().await.contains(r#"palisade_rate_limited_total{class="ws_frame"}"#));
}

#[tokio::test]
async fn open_websockets_are_capped_per_address_and_a_closed_one_frees_its_place() {
    let app = TestApp::spawn_configured(|config| config.ws_sockets_per_address = 2).await;
    let first = app.ws_raw(SITE, Some(ORIGIN)).await.unwrap();
    let _second = app.ws_raw(SITE, Some(ORIGIN)).await.unwrap();
    match app.ws_raw(SITE, Some(ORIGIN)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected 429, got {:?}", other.map(|_| "a socket")),
    }
    drop(first);
    // The server lets go of the place once it sees the connection end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.ws_raw(SITE, Some(ORIGIN)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the closed socket's place was never freed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(app.metrics().await.contains(r#"palisade_rate_limited_total{class="ws_open"}"#));
}

#[tokio::test]
async fn websocket_handshakes_are_limited_per_address() {
    let app = TestApp::spawn_configured(|config| {
        config.ws_connects_per_minute = std::num::NonZeroU32::new(6).unwrap();
        config.ws_connect_burst = std::num::NonZeroU32::new(2).unwrap();
    })
    .await;
    assert!(app.ws_raw(SITE, Some(ORIGIN)).await.is_ok());
    assert!(app.ws_raw(SITE, Some(ORIGIN)).await.is_ok());
    match app.ws_raw(SITE, Some(ORIGIN)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected 429, got {:?}", other.map(|_| "a socket")),
    }
}
