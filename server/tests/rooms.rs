//! Rooms, membership and roles against the real server: every cell of the permission matrix,
//! who sees which kind of room, moderation reaching only down, read markers and unread counts,
//! live delivery ending on a ban, and isolation between sites.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use palisade_protocol::rooms::{MemberList, ReadMarker, RoomKind, RoomList, RoomSummary};
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, ErrorBody, ErrorCode, MessageId, RoomId};
use reqwest::Method;
use serde_json::{Value, json};
use support::{OTHER_SITE, Person, SITE, Socket, TestApp, app_without_staff_mfa, call, person};
use uuid::Uuid;

async fn create(app: &TestApp, who: &Person, kind: &str, name: &str) -> RoomSummary {
    let response = call(app, who, Method::POST, "/rooms", json!({"kind": kind, "name": name})).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    response.json().await.unwrap()
}

async fn rooms_of(app: &TestApp, who: &Person) -> Vec<RoomSummary> {
    let list: RoomList = app.get_authed("/api/v1/rooms", &who.token).await.json().await.unwrap();
    list.rooms
}

async fn history_status(app: &TestApp, who: &Person, room: RoomId) -> u16 {
    app.get_authed(&format!("/api/v1/rooms/{room}/messages"), &who.token).await.status().as_u16()
}

async fn error_of(response: reqwest::Response) -> ErrorCode {
    response.json::<ErrorBody>().await.unwrap().error
}

async fn socket_of(app: &TestApp, who: &Person) -> Socket {
    app.ws(&who.token).await
}

/// Sends `body` to `room` and waits for its ack; returns the stored message's id.
async fn say(socket: &mut Socket, room: RoomId, body: &str) -> MessageId {
    let client_id = ClientMessageId(Uuid::new_v4());
    socket.send(&ClientFrame::Send { room, client_id, body: body.to_owned() }).await;
    loop {
        match socket.recv().await {
            ServerFrame::Ack { client_id: acked, id, .. } if acked == client_id => return id,
            ServerFrame::Error { error, message, .. } => panic!("send refused: {error} {message}"),
            _ => {}
        }
    }
}

/// The matrix as the README documents it, written out again here on purpose: the server's own
/// table is what is under test.
const EXPECTED: [(&str, [bool; 4]); 15] = [
    // action               owner  admin  moderator member
    ("create_channel", [true, true, true, false]),
    ("create_private_room", [true, true, true, true]),
    ("start_direct", [true, true, true, true]),
    ("start_support", [true, true, true, true]),
    ("join_channel", [true, true, true, true]),
    ("invite_to_room", [true, true, true, true]),
    ("remove_from_room", [true, true, true, false]),
    ("ban_from_room", [true, true, true, false]),
    ("answer_support", [true, true, true, false]),
    ("delete_any_message", [true, true, true, false]),
    ("see_earlier_versions", [true, true, true, false]),
    ("manage_site", [true, true, false, false]),
    ("assign_roles", [true, true, false, false]),
    ("end_sessions", [true, true, false, false]),
    ("read_audit", [true, true, false, false]),
];

const ROLES: [&str; 4] = ["owner", "admin", "moderator", "member"];

/// Tries `action` as `actor` through the API; whether the server let it happen.
async fn attempt(app: &TestApp, actor: &Person, action: &str, owner: &Person, target: &Person) -> bool {
    let status = match action {
        "create_channel" => {
            call(app, actor, Method::POST, "/rooms", json!({"kind": "channel", "name": "News"})).await.status()
        }
        "create_private_room" => {
            call(app, actor, Method::POST, "/rooms", json!({"kind": "private", "name": "Plans"})).await.status()
        }
        "start_direct" => call(app, actor, Method::POST, "/rooms/direct", json!({"user": target.id})).await.status(),
        "start_support" => call(app, actor, Method::POST, "/rooms/support", json!({})).await.status(),
        "join_channel" => {
            let channel = create(app, owner, "channel", "Lobby").await;
            call(app, actor, Method::POST, &format!("/rooms/{}/join", channel.id), Value::Null).await.status()
        }
        "invite_to_room" => {
            let room = create(app, actor, "private", "Team").await;
            call(app, actor, Method::POST, &format!("/rooms/{}/members", room.id), json!({"user": target.id}))
                .await
                .status()
        }
        "remove_from_room" => {
            let general = app.default_room(&owner.token).await;
            let status =
                call(app, actor, Method::DELETE, &format!("/rooms/{general}/members/{}", target.id), Value::Null)
                    .await
                    .status();
            call(app, target, Method::POST, &format!("/rooms/{general}/join"), Value::Null).await;
            status
        }
        "ban_from_room" => {
            let room = create(app, owner, "channel", "Rowdy").await;
            call(app, actor, Method::POST, &format!("/rooms/{}/bans", room.id), json!({"user": target.id}))
                .await
                .status()
        }
        "answer_support" => {
            let asked: RoomSummary = call(app, target, Method::POST, "/rooms/support", json!({"subject": "Billing"}))
                .await
                .json()
                .await
                .unwrap();
            let status = app.get_authed(&format!("/api/v1/rooms/{}/messages", asked.id), &actor.token).await.status();
            let listed = rooms_of(app, actor).await.iter().any(|room| room.id == asked.id);
            assert_eq!(status.is_success(), listed, "{action}: history and listing must agree");
            status
        }
        "delete_any_message" | "see_earlier_versions" => {
            let general = app.default_room(&owner.token).await;
            let mut socket = socket_of(app, target).await;
            let id = say(&mut socket, general, "a first text").await;
            let path = format!("/rooms/{general}/messages/{id}");
            let edited = call(app, target, Method::PATCH, &path, json!({"body": "a second text"})).await;
            assert_eq!(edited.status(), 200);
            if action == "delete_any_message" {
                call(app, actor, Method::DELETE, &path, Value::Null).await.status()
            } else {
                call(app, actor, Method::GET, &format!("{path}/versions"), Value::Null).await.status()
            }
        }
        "manage_site" => {
            call(app, actor, Method::PATCH, "/site/settings", json!({"retention_days": 400})).await.status()
        }
        "assign_roles" => {
            call(app, actor, Method::PUT, &format!("/site/people/{}/role", target.id), json!({"role": "member"}))
                .await
                .status()
        }
        "end_sessions" => {
            // Someone new each time: the shared target must stay signed in for the other cells.
            let victim = person(app, SITE, &format!("Victim{}", &Uuid::new_v4().simple().to_string()[..8]), None).await;
            call(app, actor, Method::DELETE, &format!("/site/people/{}/sessions", victim.id), Value::Null)
                .await
                .status()
        }
        "read_audit" => call(app, actor, Method::GET, "/site/audit?limit=5", Value::Null).await.status(),
        other => panic!("no attempt written for {other}"),
    };
    assert!(
        status.is_success() || [403, 404].contains(&status.as_u16()),
        "{action} answered {status}, neither allowed nor refused"
    );
    status.is_success()
}

#[tokio::test]
async fn every_cell_of_the_permission_matrix_is_enforced() {
    let app = app_without_staff_mfa().await;
    let owner = person(&app, SITE, "Olive", Some("owner")).await;
    let target = person(&app, SITE, "Tom", None).await;
    let mut actors = Vec::new();
    for role in ROLES {
        actors.push(person(&app, SITE, &format!("Actor{role}"), Some(role)).await);
    }
    for (action, grants) in EXPECTED {
        for ((role, actor), granted) in ROLES.iter().zip(&actors).zip(grants) {
            let allowed = attempt(&app, actor, action, &owner, &target).await;
            assert_eq!(allowed, granted, "{role} {action}: expected {granted}");
        }
    }
    let refusals = app.audit_events("authz_fail").await;
    assert!(refusals.iter().any(|r| r.details.contains("create_channel")), "refusals are on the audit trail");
}

#[tokio::test]
async fn moderation_reaches_only_people_of_a_lower_role() {
    let app = app_without_staff_mfa().await;
    let admin = person(&app, SITE, "Ann", Some("admin")).await;
    let moderator = person(&app, SITE, "Mo", Some("moderator")).await;
    let other_moderator = person(&app, SITE, "Max", Some("moderator")).await;
    let general = app.default_room(&admin.token).await;
    for (actor, target) in [(&moderator, &admin), (&moderator, &other_moderator)] {
        let response =
            call(&app, actor, Method::POST, &format!("/rooms/{general}/bans"), json!({"user": target.id})).await;
        assert_eq!(response.status(), 403);
        let response =
            call(&app, actor, Method::DELETE, &format!("/rooms/{general}/members/{}", target.id), Value::Null).await;
        assert_eq!(response.status(), 403);
    }
    let response =
        call(&app, &admin, Method::POST, &format!("/rooms/{general}/bans"), json!({"user": moderator.id})).await;
    assert_eq!(response.status(), 204);
    assert_eq!(history_status(&app, &moderator, general).await, 404, "banned from a channel, not even reading it");
    assert!(!rooms_of(&app, &moderator).await.iter().any(|r| r.id == general));
    let response = call(&app, &moderator, Method::POST, &format!("/rooms/{general}/join"), Value::Null).await;
    assert_eq!(response.status(), 404, "a ban is not lifted by joining");
    let admin_events = app.audit_events("authz_admin").await;
    assert!(admin_events[0].details.contains("ban_from_room"));
    let response =
        call(&app, &admin, Method::DELETE, &format!("/rooms/{general}/bans/{}", moderator.id), Value::Null).await;
    assert_eq!(response.status(), 204);
    let response = call(&app, &moderator, Method::POST, &format!("/rooms/{general}/join"), Value::Null).await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn private_direct_and_support_rooms_are_seen_only_by_their_people() {
    let app = app_without_staff_mfa().await;
    let ada = person(&app, SITE, "Ada", None).await;
    let bob = person(&app, SITE, "Bob", None).await;
    let cy = person(&app, SITE, "Cy", None).await;
    let staff = person(&app, SITE, "Sam", Some("moderator")).await;

    let private = create(&app, &ada, "private", "Plans").await;
    assert_eq!(private.kind, RoomKind::Private);
    assert_eq!(history_status(&app, &bob, private.id).await, 404);
    assert_eq!(history_status(&app, &staff, private.id).await, 404, "staff do not read private rooms");
    let response = call(&app, &bob, Method::POST, &format!("/rooms/{}/join", private.id), Value::Null).await;
    assert_eq!(response.status(), 404, "a private room cannot be joined, or even found");
    let invited =
        call(&app, &ada, Method::POST, &format!("/rooms/{}/members", private.id), json!({"user": bob.id})).await;
    assert_eq!(invited.status(), 204);
    assert_eq!(history_status(&app, &bob, private.id).await, 200);

    let direct: RoomSummary =
        call(&app, &ada, Method::POST, "/rooms/direct", json!({"user": bob.id})).await.json().await.unwrap();
    assert_eq!(direct.counterpart.as_ref().map(|c| c.id), Some(bob.id));
    let from_bob = call(&app, &bob, Method::POST, "/rooms/direct", json!({"user": ada.id})).await;
    assert_eq!(from_bob.status(), 200, "the same pair gets the same room");
    assert_eq!(from_bob.json::<RoomSummary>().await.unwrap().id, direct.id);
    assert_eq!(history_status(&app, &cy, direct.id).await, 404);
    assert_eq!(history_status(&app, &staff, direct.id).await, 404);
    let to_self = call(&app, &ada, Method::POST, "/rooms/direct", json!({"user": ada.id})).await;
    assert_eq!(to_self.status(), 422);
    let third = call(&app, &ada, Method::POST, &format!("/rooms/{}/members", direct.id), json!({"user": cy.id})).await;
    assert_eq!(third.status(), 422);

    let first: RoomSummary =
        call(&app, &cy, Method::POST, "/rooms/support", json!({"subject": "Refund"})).await.json().await.unwrap();
    let second: RoomSummary = call(&app, &cy, Method::POST, "/rooms/support", json!({})).await.json().await.unwrap();
    assert_ne!(first.id, second.id, "several support conversations may be open at once");
    assert_eq!(second.name, "Support");
    assert_eq!(history_status(&app, &ada, first.id).await, 404, "another member never sees it");
    let seen_by_staff = rooms_of(&app, &staff).await;
    let listed = seen_by_staff.iter().find(|r| r.id == first.id).expect("staff see every support conversation");
    assert_eq!(listed.counterpart.as_ref().map(|c| c.display_name.as_str()), Some("Cy"));

    let mut socket = socket_of(&app, &cy).await;
    say(&mut socket, first.id, "I was charged twice").await;
    let mut staff_socket = socket_of(&app, &staff).await;
    say(&mut staff_socket, first.id, "Looking into it").await;

    let bad_name =
        call(&app, &ada, Method::POST, "/rooms", json!({"kind": "private", "name": "evil\u{202E}txt"})).await;
    assert_eq!(bad_name.status(), 422);
}

#[tokio::test]
async fn unread_counts_follow_read_markers_which_never_move_back() {
    let app = TestApp::spawn().await;
    let ada = person(&app, SITE, "Ada", None).await;
    let bob = person(&app, SITE, "Bob", None).await;
    let general = app.default_room(&ada.token).await;
    let mut socket = socket_of(&app, &ada).await;
    for n in 1..=3 {
        say(&mut socket, general, &format!("m{n}")).await;
    }
    let bobs = rooms_of(&app, &bob).await;
    let room = bobs.iter().find(|r| r.id == general).unwrap();
    assert!(room.joined);
    assert_eq!((room.last_seq, room.read_seq, room.unread), (3, 0, 3));

    let path = format!("/rooms/{general}/read");
    let marked: ReadMarker = call(&app, &bob, Method::PUT, &path, json!({"seq": 2})).await.json().await.unwrap();
    assert_eq!(marked.seq, 2);
    let back: ReadMarker = call(&app, &bob, Method::PUT, &path, json!({"seq": 1})).await.json().await.unwrap();
    assert_eq!(back.seq, 2, "an older tab cannot move the marker back");
    let past: ReadMarker = call(&app, &bob, Method::PUT, &path, json!({"seq": 99})).await.json().await.unwrap();
    assert_eq!(past.seq, 3, "never past the last message");
    let room = rooms_of(&app, &bob).await.into_iter().find(|r| r.id == general).unwrap();
    assert_eq!(room.unread, 0);

    let members: MemberList =
        app.get_authed(&format!("/api/v1/rooms/{general}/members"), &ada.token).await.json().await.unwrap();
    let bob_seen = members.members.iter().find(|m| m.user.id == bob.id).unwrap();
    assert_eq!(bob_seen.read_seq, 3, "others see how far Bob has read");

    let left = call(&app, &bob, Method::POST, &format!("/rooms/{general}/leave"), Value::Null).await;
    assert_eq!(left.status(), 204);
    say(&mut socket, general, "m4").await;
    let room = rooms_of(&app, &bob).await.into_iter().find(|r| r.id == general).unwrap();
    assert!(!room.joined);
    assert_eq!(room.unread, 0, "a channel one is not in counts nothing as unread");
    assert_eq!(history_status(&app, &bob, general).await, 200, "but can still be read");
    let again = call(&app, &bob, Method::POST, &format!("/rooms/{general}/leave"), Value::Null).await;
    assert_eq!(again.status(), 404);
}

/// Found by schemathesis: serde reads a struct from a JSON array too, so `[]` (every field of a
/// support request is optional) started a support conversation.
#[tokio::test]
async fn a_support_request_must_be_an_object() {
    let app = TestApp::spawn().await;
    let bob = person(&app, SITE, "Bob", None).await;
    let array = call(&app, &bob, Method::POST, "/rooms/support", json!([])).await;
    assert_eq!(array.status(), 400);
    assert_eq!(array.json::<ErrorBody>().await.unwrap().error, ErrorCode::MalformedRequest);
    let object = call(&app, &bob, Method::POST, "/rooms/support", json!({})).await;
    assert_eq!(object.status(), 201);
}

/// Found by schemathesis: history cursors past the int64 the document promises were accepted.
#[tokio::test]
async fn history_cursors_past_int64_are_refused() {
    let app = TestApp::spawn().await;
    let bob = person(&app, SITE, "Bob", None).await;
    let general = app.default_room(&bob.token).await;
    for cursor in ["before", "after"] {
        let path = format!("/api/v1/rooms/{general}/messages?{cursor}=9223372036854775808");
        let response = app.get_authed(&path, &bob.token).await;
        assert_eq!(response.status(), 422, "{cursor}");
        let path = format!("/api/v1/rooms/{general}/messages?{cursor}={}", i64::MAX);
        assert_eq!(app.get_authed(&path, &bob.token).await.status(), 200, "{cursor}");
    }
}

/// Found by schemathesis: a `seq` past the int64 the document promises was taken, silently,
/// for the room's last message.
#[tokio::test]
async fn a_read_marker_past_int64_is_refused() {
    let app = TestApp::spawn().await;
    let bob = person(&app, SITE, "Bob", None).await;
    let general = app.default_room(&bob.token).await;
    let path = format!("/rooms/{general}/read");
    let too_big = call(&app, &bob, Method::PUT, &path, json!({"seq": 9_223_372_036_854_775_808_u64})).await;
    assert_eq!(too_big.status(), 422);
    assert_eq!(too_big.json::<ErrorBody>().await.unwrap().error, ErrorCode::ValidationFailed);
    let largest = call(&app, &bob, Method::PUT, &path, json!({"seq": i64::MAX})).await;
    assert_eq!(largest.status(), 200, "the largest int64 is a seq (past the last message: clamped)");
}

#[tokio::test]
async fn read_markers_reach_the_rooms_subscribers_live() {
    let app = TestApp::spawn().await;
    let ada = person(&app, SITE, "Ada", None).await;
    let bob = person(&app, SITE, "Bob", None).await;
    let general = app.default_room(&ada.token).await;
    let mut adas = socket_of(&app, &ada).await;
    adas.send(&ClientFrame::Subscribe { room: general, after_seq: 0 }).await;
    // Frames are handled in order: once this is acknowledged, the subscription is live.
    say(&mut adas, general, "did you see this?").await;

    let marked = call(&app, &bob, Method::PUT, &format!("/rooms/{general}/read"), json!({"seq": 1})).await;
    assert_eq!(marked.status(), 200);
    loop {
        match adas.recv().await {
            ServerFrame::Read { room, user, seq } => {
                assert_eq!((room, user, seq), (general, bob.id, 1), "Ada sees how far Bob has read");
                break;
            }
            ServerFrame::Message(_) => {}
            other => panic!("expected Bob's read marker, got {other:?}"),
        }
    }
}

/// Starts a direct or support conversation.
async fn started(app: &TestApp, who: &Person, path: &str, body: Value) -> RoomId {
    let response = call(app, who, Method::POST, path, body).await;
    assert!(response.status().is_success(), "{path}: {:?}", response.text().await);
    response.json::<RoomSummary>().await.unwrap().id
}

/// The room of the next `room_added` the socket hears, past anything else.
async fn next_room_added(socket: &mut Socket) -> RoomId {
    loop {
        if let ServerFrame::RoomAdded { room } = socket.recv().await {
            return room;
        }
    }
}

#[tokio::test]
async fn new_rooms_reach_the_open_lists_of_exactly_the_people_who_may_see_them() {
    let app = app_without_staff_mfa().await;
    let mo = person(&app, SITE, "Mo", Some("moderator")).await;
    let ada = person(&app, SITE, "Ada", None).await;
    let bob = person(&app, SITE, "Bob", None).await;
    let eve = person(&app, OTHER_SITE, "Eve", None).await;
    let (mut mos, mut adas, mut bobs) =
        (socket_of(&app, &mo).await, socket_of(&app, &ada).await, socket_of(&app, &bob).await);
    let mut eves = app.ws_on(OTHER_SITE, &eve.token).await;

    // Ada asks for support: the staff hear of it, and so do her own other devices.
    let support = started(&app, &ada, "/rooms/support", json!({})).await;
    assert_eq!(next_room_added(&mut mos).await, support);
    assert_eq!(next_room_added(&mut adas).await, support);
    // A direct conversation: Bob's first news is this one, not Ada's support request.
    let direct = started(&app, &ada, "/rooms/direct", json!({"user": bob.id})).await;
    assert_eq!(next_room_added(&mut bobs).await, direct);
    assert_eq!(next_room_added(&mut adas).await, direct);
    // A private room is news to its creator, then to whoever is invited.
    let private = create(&app, &ada, "private", "Plans").await.id;
    assert_eq!(next_room_added(&mut adas).await, private);
    let invited = call(&app, &ada, Method::POST, &format!("/rooms/{private}/members"), json!({"user": bob.id})).await;
    assert_eq!(invited.status(), 204);
    assert_eq!(next_room_added(&mut bobs).await, private);
    // A channel is news to everyone on the site. The moderator heard of nothing in between.
    let channel = create(&app, &mo, "channel", "Announcements").await.id;
    for socket in [&mut mos, &mut adas, &mut bobs] {
        assert_eq!(next_room_added(socket).await, channel);
    }
    // Another site heard none of it: its first news is its own.
    let eves_support = started(&app, &eve, "/rooms/support", json!({})).await;
    assert_eq!(next_room_added(&mut eves).await, eves_support);
}

#[tokio::test]
async fn a_ban_ends_live_delivery_of_the_room_at_once() {
    let app = app_without_staff_mfa().await;
    let moderator = person(&app, SITE, "Mo", Some("moderator")).await;
    let troll = person(&app, SITE, "Troll", None).await;
    let ada = person(&app, SITE, "Ada", None).await;
    let general = app.default_room(&ada.token).await;
    let mut trolls = socket_of(&app, &troll).await;
    trolls.send(&ClientFrame::Subscribe { room: general, after_seq: 0 }).await;
    let mut adas = socket_of(&app, &ada).await;
    say(&mut adas, general, "before").await;
    assert!(matches!(trolls.recv().await, ServerFrame::Message(m) if m.body == "before"));

    let banned =
        call(&app, &moderator, Method::POST, &format!("/rooms/{general}/bans"), json!({"user": troll.id})).await;
    assert_eq!(banned.status(), 204);
    match trolls.recv().await {
        ServerFrame::Removed { room } => assert_eq!(room, general),
        other => panic!("expected removed, got {other:?}"),
    }
    say(&mut adas, general, "after").await;
    trolls.send(&ClientFrame::Subscribe { room: general, after_seq: 0 }).await;
    match trolls.recv().await {
        ServerFrame::Error { error, .. } => assert_eq!(error, ErrorCode::NotFound),
        other => panic!("the banned socket got {other:?} instead of a refusal"),
    }
    let client_id = ClientMessageId(Uuid::new_v4());
    trolls.send(&ClientFrame::Send { room: general, client_id, body: "let me in".into() }).await;
    assert!(matches!(trolls.recv().await, ServerFrame::Error { error: ErrorCode::NotFound, .. }));
}

#[tokio::test]
async fn another_sites_rooms_and_people_answer_not_found_and_the_attempts_are_logged() {
    let app = TestApp::spawn().await;
    let ada = person(&app, SITE, "Ada", None).await;
    let bob = person(&app, SITE, "Bob", None).await;
    let eve = person(&app, OTHER_SITE, "Eve", None).await;
    let general = app.default_room(&ada.token).await;
    let private = create(&app, &ada, "private", "Secrets").await;
    for room in [general, private.id] {
        assert_eq!(history_status(&app, &eve, room).await, 404);
        for (method, path, body) in [
            (Method::POST, format!("/rooms/{room}/join"), Value::Null),
            (Method::GET, format!("/rooms/{room}/members"), Value::Null),
            (Method::PUT, format!("/rooms/{room}/read"), json!({"seq": 1})),
            (Method::POST, format!("/rooms/{room}/members"), json!({"user": eve.id})),
        ] {
            let response = call(&app, &eve, method, &path, body).await;
            assert_eq!(response.status(), 404, "{path}");
            assert_eq!(error_of(response).await, ErrorCode::NotFound);
        }
    }
    assert!(rooms_of(&app, &eve).await.iter().all(|r| r.id != general && r.id != private.id));
    let direct = call(&app, &eve, Method::POST, "/rooms/direct", json!({"user": ada.id})).await;
    assert_eq!(direct.status(), 404, "people of another site do not exist here");
    let eves_general = app.default_room(&eve.token).await;
    let invite =
        call(&app, &eve, Method::POST, &format!("/rooms/{eves_general}/members"), json!({"user": bob.id})).await;
    assert_eq!(invite.status(), 404);

    let logged = app.audit_events_at_least("authz_fail", 10).await;
    assert!(logged.len() >= 10, "every probe is on the audit trail: {}", logged.len());
    assert!(logged.iter().any(|r| r.details.contains(&general.to_string())));
    assert!(logged.iter().any(|r| r.details.contains("person not on the site")));
}
