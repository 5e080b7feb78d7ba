//! A site's own administration through the API: its owner and admins read and change the
//! settings, every value checked, give people roles, only ever below their own, and read their
//! site's audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use palisade_protocol::audit::{AuditEntry, AuditPage};
use palisade_protocol::roles::Role;
use palisade_protocol::sites::{RoleChange, SignUpMode, SiteSettings};
use palisade_protocol::{ErrorBody, ErrorCode};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Next, ORIGIN, OTHER_SITE, Person, SITE, TestApp, app_without_staff_mfa, call, person};

async fn change(app: &TestApp, who: &Person, body: Value) -> reqwest::Response {
    call(app, who, Method::PATCH, "/site/settings", body).await
}

async fn refused_with(response: reqwest::Response) -> (u16, ErrorCode) {
    let status = response.status().as_u16();
    (status, response.json::<ErrorBody>().await.unwrap().error)
}

async fn give_role(app: &TestApp, actor: &Person, target: &Person, role: &str) -> u16 {
    let path = format!("/site/people/{}/role", target.id);
    call(app, actor, Method::PUT, &path, json!({"role": role})).await.status().as_u16()
}

#[tokio::test]
async fn admins_read_and_change_the_settings_and_every_value_is_checked() {
    let app = app_without_staff_mfa().await;
    let admin = person(&app, SITE, "Ada", Some("admin")).await;
    let settings: SiteSettings =
        call(&app, &admin, Method::GET, "/site/settings", Value::Null).await.json().await.unwrap();
    assert_eq!(settings.allowed_origins, vec![ORIGIN.to_owned()]);
    assert_eq!(settings.mfa_required_roles, vec![], "cleared by the test's set-up");

    for (body, what) in [
        (json!({}), "nothing to change"),
        (json!({"allowed_origins": []}), "no origin"),
        (json!({"allowed_origins": ["https://acme.example/chat"]}), "an origin with a path"),
        (json!({"allowed_origins": ["*"]}), "a wildcard"),
        (json!({"retention_days": 0}), "no retention"),
        (json!({"name": "   "}), "a blank name"),
        (json!({"name": "Acme\u{202e}"}), "a bidi override in the name"),
    ] {
        assert_eq!(refused_with(change(&app, &admin, body).await).await, (422, ErrorCode::ValidationFailed), "{what}");
    }
    let unknown = change(&app, &admin, json!({"owner": "me"})).await;
    assert_eq!(unknown.status(), 400, "unknown fields are refused");

    let changed = change(
        &app,
        &admin,
        json!({
            "name": "  Acme Support ",
            "allowed_origins": ["https://chat.acme.example"],
            "sign_up": "invite_only",
            "retention_days": 90,
            "mfa_required_roles": ["owner", "admin"],
        }),
    )
    .await;
    assert_eq!(changed.status(), 200);
    let now: SiteSettings = changed.json().await.unwrap();
    assert_eq!(now.name, "Acme Support");
    assert_eq!(now.allowed_origins, vec!["https://chat.acme.example".to_owned()]);
    assert_eq!(now.sign_up, SignUpMode::InviteOnly);
    assert_eq!(now.retention_days, Some(90));
    assert_eq!(now.mfa_required_roles.len(), 2);
    // `null` means keep forever; leaving the field out leaves it alone.
    let forever = change(&app, &admin, json!({"retention_days": null})).await.text().await.unwrap();
    let forever: SiteSettings = serde_json::from_str(&forever).unwrap_or_else(|e| panic!("{e}: {forever}"));
    assert_eq!((forever.retention_days, forever.name.as_str()), (None, "Acme Support"));

    // The origins apply at once: the old one may no longer open a socket, the new one may.
    assert!(app.ws_raw(SITE, Some(ORIGIN)).await.is_err(), "the removed origin is refused");
    assert!(app.ws_raw(SITE, Some("https://chat.acme.example")).await.is_ok());
    let updates = app.audit_events_at_least("sensitive_update", 2).await;
    assert!(updates.iter().any(|e| e.details.contains("allowed_origins") && e.details.contains("sign_up")));
}

#[tokio::test]
async fn roles_are_given_only_below_the_givers_own_and_only_on_their_site() {
    let app = app_without_staff_mfa().await;
    let owner = person(&app, SITE, "Olive", Some("owner")).await;
    let admin = person(&app, SITE, "Ada", Some("admin")).await;
    let other_admin = person(&app, SITE, "Alan", Some("admin")).await;
    let mia = person(&app, SITE, "Mia", None).await;
    let stranger = person(&app, OTHER_SITE, "Stan", None).await;

    // A member made moderator by an admin can do what moderators do, at once.
    let channel = json!({"kind": "channel", "name": "News"});
    assert_eq!(call(&app, &mia, Method::POST, "/rooms", channel.clone()).await.status(), 403);
    assert_eq!(give_role(&app, &admin, &mia, "moderator").await, 200);
    assert_eq!(call(&app, &mia, Method::POST, "/rooms", channel).await.status(), 201);
    // Moderators give no roles at all.
    assert_eq!(give_role(&app, &mia, &admin, "member").await, 403);

    // Admins reach only below themselves, and only to a role below their own.
    assert_eq!(give_role(&app, &admin, &mia, "admin").await, 403, "an admin making an admin");
    assert_eq!(give_role(&app, &admin, &other_admin, "member").await, 403, "an admin demoting a peer");
    assert_eq!(give_role(&app, &admin, &owner, "member").await, 403, "an admin demoting the owner");
    assert_eq!(give_role(&app, &admin, &admin, "owner").await, 403, "promoting oneself");
    // Owners make admins, but no owners: that stays with the operator.
    let path = format!("/site/people/{}/role", mia.id);
    let made: RoleChange = call(&app, &owner, Method::PUT, &path, json!({"role": "admin"})).await.json().await.unwrap();
    assert_eq!(made.role, Role::Admin);
    assert_eq!(give_role(&app, &owner, &mia, "owner").await, 403);
    assert_eq!(give_role(&app, &owner, &other_admin, "member").await, 200);

    // Someone of another site is not found, and the guess is on the audit trail.
    assert_eq!(give_role(&app, &owner, &stranger, "moderator").await, 404);
    // Eight refusals in all: the channel, the moderator, five of the admin and owner, the stranger.
    let refusals = app.audit_events_at_least("authz_fail", 8).await;
    assert_eq!(refusals.len(), 8);
    assert!(refusals.iter().any(|e| e.details.contains("person not on the site")));
    let path = format!("/site/people/{}/role", mia.id);
    assert_eq!(call(&app, &owner, Method::PUT, &path, json!({"role": "god"})).await.status(), 400);

    let changes = app.audit_events_at_least("authz_change", 3).await;
    let promoted: Vec<(Value, Value)> = changes
        .iter()
        .map(|e| {
            let details: Value = serde_json::from_str(&e.details).unwrap();
            (details["from"].clone(), details["to"].clone())
        })
        .collect();
    assert!(promoted.contains(&(json!("member"), json!("moderator"))), "{promoted:?}");
    assert!(promoted.contains(&(json!("moderator"), json!("admin"))), "{promoted:?}");
}

async fn end_sessions(app: &TestApp, actor: &Person, target: &Person) -> u16 {
    let path = format!("/site/people/{}/sessions", target.id);
    call(app, actor, Method::DELETE, &path, Value::Null).await.status().as_u16()
}

#[tokio::test]
async fn admins_sign_people_below_them_out_everywhere() {
    let app = app_without_staff_mfa().await;
    let owner = person(&app, SITE, "Olive", Some("owner")).await;
    let admin = person(&app, SITE, "Ada", Some("admin")).await;
    let moderator = person(&app, SITE, "Mo", Some("moderator")).await;
    let mia = person(&app, SITE, "Mia", None).await;
    let stranger = person(&app, OTHER_SITE, "Stan", None).await;

    // Moderators not at all, admins never up or sideways, and another site's people are not found.
    assert_eq!(end_sessions(&app, &moderator, &mia).await, 403);
    assert_eq!(end_sessions(&app, &admin, &owner).await, 403);
    assert_eq!(end_sessions(&app, &admin, &admin).await, 403);
    assert_eq!(end_sessions(&app, &owner, &stranger).await, 404);
    let rooms = |token: &str| {
        let request = app.http.get(app.url("/api/v1/rooms")).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(rooms(&mia.token).await, 200, "nothing was ended by a refusal");

    let mut mias_socket = app.ws(&mia.token).await;
    assert_eq!(end_sessions(&app, &admin, &mia).await, 204);
    let closed = loop {
        match mias_socket.next().await {
            Next::Frame(_) => continue,
            Next::Closed(reason) => break reason,
        }
    };
    assert_eq!(closed.as_deref(), Some("session_ended"));
    assert_eq!(rooms(&mia.token).await, 401);
    assert_eq!(rooms(&admin.token).await, 200, "only Mia was signed out");
    let ended = app.audit_events_at_least("session_expired", 1).await;
    assert!(ended.iter().any(|e| e.details.contains("ended_by_admin") && e.details.contains(&mia.id.to_string())));
    assert_eq!(app.audit_events_at_least("authz_fail", 4).await.len(), 4, "each refusal is on the audit trail");
}

async fn audit_page(app: &TestApp, who: &Person, query: &str) -> AuditPage {
    let response = call(app, who, Method::GET, &format!("/site/audit?{query}"), Value::Null).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn admins_page_through_their_own_sites_audit_trail_and_nobody_elses() {
    let app = app_without_staff_mfa().await;
    let admin = person(&app, SITE, "Ada", Some("admin")).await;
    let moderator = person(&app, SITE, "Mo", Some("moderator")).await;
    let mia = person(&app, SITE, "Mia", None).await;
    let stranger = person(&app, OTHER_SITE, "Stan", None).await;
    for role in ["moderator", "member", "moderator"] {
        assert_eq!(give_role(&app, &admin, &mia, role).await, 200);
    }
    // The trail is written in the background.
    app.audit_events_at_least("authz_change", 3).await;

    let first = audit_page(&app, &admin, "event=authz_change&limit=2").await;
    let second =
        audit_page(&app, &admin, &format!("event=authz_change&limit=2&before={}", first.next_before.unwrap())).await;
    assert_eq!(second.next_before, None, "the last page says so");
    let changes: Vec<&AuditEntry> = first.events.iter().chain(&second.events).collect();
    let to: Vec<&Value> = changes.iter().map(|e| &e.details["to"]).collect();
    assert_eq!(to, [&json!("moderator"), &json!("member"), &json!("moderator")], "newest first");
    assert!(changes.iter().all(|e| e.actor == Some(admin.id) && e.outcome == "success"));
    assert!(changes.windows(2).all(|w| w[0].at >= w[1].at));

    let by_mia = audit_page(&app, &admin, &format!("actor={}&event=authz_change", mia.id)).await;
    assert!(by_mia.events.is_empty(), "filtered by who did it");
    let everything = audit_page(&app, &admin, "limit=100").await;
    assert!(everything.events.iter().all(|e| e.actor != Some(stranger.id)), "another site's events never show");

    let moderators = call(&app, &moderator, Method::GET, "/site/audit", Value::Null).await;
    assert_eq!(refused_with(moderators).await, (403, ErrorCode::Forbidden));
    for query in ["limit=0", "limit=101"] {
        let response = call(&app, &admin, Method::GET, &format!("/site/audit?{query}"), Value::Null).await;
        assert_eq!(refused_with(response).await, (422, ErrorCode::ValidationFailed), "{query}");
    }
    let unknown = call(&app, &admin, Method::GET, "/site/audit?site=globex", Value::Null).await;
    assert_eq!(unknown.status(), 400, "no way to name another site");
}
