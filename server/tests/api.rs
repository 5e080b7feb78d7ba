//! The REST API against the real server: sign-up, sign-in, rooms, and every kind of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use palisade_protocol::auth::TokenResponse;
use palisade_protocol::{ErrorBody, ErrorCode};
use palisade_server::config::TlsMode;
use serde_json::json;
use support::{ORIGIN, OTHER_SITE, PASSWORD, SITE, TestApp};

async fn error_of(response: reqwest::Response) -> (u16, ErrorCode) {
    let status = response.status().as_u16();
    let body: ErrorBody = response.json().await.expect("errors have a JSON body");
    (status, body.error)
}

#[tokio::test]
async fn health_answers() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn register_then_login_issues_bearer_tokens() {
    let app = TestApp::spawn().await;
    let response = app.register(SITE, "ada@example.org", "Ada").await;
    assert_eq!(response.status(), 201);
    let registered: TokenResponse = response.json().await.unwrap();
    assert_eq!(registered.expires_in, 600);
    assert_eq!(registered.access_token.split('.').count(), 3);

    let response = app
        .post_json("/api/v1/auth/login", &json!({"site": SITE, "email": "ADA@example.org", "password": PASSWORD}))
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(app.get_authed("/api/v1/rooms", body["access_token"].as_str().unwrap()).await.status().is_success());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let app = TestApp::spawn().await;
    app.token("ada@example.org", "Ada").await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"site": SITE, "email": "ada@example.org", "password": "not the password"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"site": SITE, "email": "bob@example.org", "password": "not the password"}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
}

#[tokio::test]
async fn bad_bodies_get_typed_4xx_errors() {
    let app = TestApp::spawn().await;
    let register = app.url("/api/v1/auth/register");
    let send = |body: String, content_type: &'static str| {
        app.http.post(&register).header("origin", ORIGIN).header("content-type", content_type).body(body).send()
    };
    let valid = json!({"site": SITE, "email": "a@b.example", "return_to": ORIGIN});

    assert_eq!(
        error_of(send("{not json".into(), "application/json").await.unwrap()).await,
        (400, ErrorCode::MalformedRequest)
    );
    let mut extra = valid.clone();
    extra["role"] = json!("owner");
    assert_eq!(
        error_of(send(extra.to_string(), "application/json").await.unwrap()).await,
        (400, ErrorCode::MalformedRequest)
    );
    assert_eq!(
        error_of(send(valid.to_string(), "text/plain").await.unwrap()).await,
        (415, ErrorCode::UnsupportedMediaType)
    );
    let mut huge = valid.clone();
    huge["return_to"] = json!("x".repeat(20_000));
    assert_eq!(
        error_of(send(huge.to_string(), "application/json").await.unwrap()).await,
        (413, ErrorCode::PayloadTooLarge)
    );
    let mut bad_site = valid.clone();
    bad_site["site"] = json!("../etc");
    assert_eq!(
        error_of(send(bad_site.to_string(), "application/json").await.unwrap()).await,
        (400, ErrorCode::MalformedRequest)
    );
    // Nesting is bounded by the parser (depth 128) well inside the 16 KiB body limit.
    let deep = format!("{{\"site\": {}0{}}}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(error_of(send(deep, "application/json").await.unwrap()).await, (400, ErrorCode::MalformedRequest));
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn values_outside_the_limits_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let refused = |response: reqwest::Response, case: String| async move {
        let status = response.status();
        let body: ErrorBody = response.json().await.unwrap();
        assert_eq!((status.as_u16(), body.error), (422, ErrorCode::ValidationFailed), "{case}");
        assert!(!body.message.is_empty());
    };
    for (email, return_to) in [("not-an-email", ORIGIN), ("a@b.example", "https://evil.example/")] {
        let body = json!({"site": SITE, "email": email, "return_to": return_to});
        refused(app.post_json("/api/v1/auth/register", &body).await, format!("{email} {return_to}")).await;
    }
    assert_eq!(app.ask_sign_up(SITE, "a@b.example").await.status(), 202);
    let token = app.mailed_token(SITE, "a@b.example", 1, palisade_protocol::auth::SIGN_UP_FRAGMENT).await;
    for (password, name) in [("short", "A"), (&"p".repeat(129) as &str, "A"), (PASSWORD, ""), (PASSWORD, "bell\u{7}")] {
        refused(app.complete_sign_up(SITE, &token, name, password).await, format!("{password} {name:?}")).await;
    }
}

#[tokio::test]
async fn unknown_sites_and_disallowed_origins_are_refused() {
    let app = TestApp::spawn().await;
    let body = json!({"site": "nope", "email": "a@b.example", "return_to": ORIGIN});
    assert_eq!(error_of(app.post_json("/api/v1/auth/register", &body).await).await, (404, ErrorCode::NotFound));
    let response = app
        .http
        .post(app.url("/api/v1/auth/register"))
        .header("origin", "https://evil.example")
        .json(&json!({"site": SITE, "email": "a@b.example", "return_to": ORIGIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await, (403, ErrorCode::OriginNotAllowed));
    // Another site's origin is just as foreign.
    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("origin", support::OTHER_ORIGIN)
        .json(&json!({"site": SITE, "email": "a@b.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await, (403, ErrorCode::OriginNotAllowed));
}

#[tokio::test]
async fn rooms_need_a_valid_token_and_show_only_the_callers_site() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/api/v1/rooms")).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_of(response).await, (401, ErrorCode::Unauthenticated));
    assert_eq!(error_of(app.get_authed("/api/v1/rooms", "not.a.token").await).await, (401, ErrorCode::Unauthenticated));

    let ada = app.token("ada@example.org", "Ada").await;
    let rooms: palisade_protocol::rooms::RoomList = app.get_authed("/api/v1/rooms", &ada).await.json().await.unwrap();
    assert_eq!(rooms.rooms.len(), 1);
    assert_eq!(rooms.rooms[0].name, "General");

    let other = app.token_on(OTHER_SITE, "eve@example.org", "Eve").await;
    let path = format!("/api/v1/rooms/{}/messages", rooms.rooms[0].id);
    assert_eq!(error_of(app.get_authed(&path, &other).await).await, (404, ErrorCode::NotFound));
    assert!(app.get_authed(&path, &ada).await.status().is_success());
}

#[tokio::test]
async fn history_queries_are_validated() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada@example.org", "Ada").await;
    let room = app.default_room(&ada).await;
    for query in ["limit=0", "limit=101", "before=3&after=1"] {
        let response = app.get_authed(&format!("/api/v1/rooms/{room}/messages?{query}"), &ada).await;
        assert_eq!(error_of(response).await, (422, ErrorCode::ValidationFailed), "{query}");
    }
    for query in ["limit=ten", "after=-1", "sort=desc"] {
        let response = app.get_authed(&format!("/api/v1/rooms/{room}/messages?{query}"), &ada).await;
        assert_eq!(error_of(response).await, (400, ErrorCode::MalformedRequest), "{query}");
    }
    let response = app.get_authed("/api/v1/rooms/not-a-uuid/messages", &ada).await;
    assert_eq!(error_of(response).await, (404, ErrorCode::NotFound));
}

#[tokio::test]
async fn unknown_routes_answer_typed_404s() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(error_of(response).await, (404, ErrorCode::NotFound));
}

/// Found by schemathesis: a known path asked with a method it lacks answered 404, as if the
/// path did not exist, where RFC 9110 asks for 405 and the methods it has.
#[tokio::test]
async fn a_known_path_with_an_unknown_method_answers_405_with_allow() {
    let app = TestApp::spawn().await;
    for (method, path, allow) in [
        (reqwest::Method::TRACE, "/healthz", "GET"),
        (reqwest::Method::DELETE, "/api/v1/rooms", "GET, POST"),
        (reqwest::Method::PUT, &format!("/api/v1/rooms/{}/messages", uuid::Uuid::new_v4()) as &str, "GET"),
    ] {
        let response = app.http.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    }
    let unknown = app.http.delete(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(error_of(unknown).await, (404, ErrorCode::NotFound));
}

/// Every operation says who may call it (`security`): a bearer token, or nobody in particular.
#[tokio::test]
async fn every_operation_of_the_document_states_its_auth_requirement() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value =
        app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let security = operation["security"].as_array();
            assert!(security.is_some_and(|s| !s.is_empty()), "{method} {path} states no auth requirement");
            let bearer = security.unwrap().iter().any(|s| s.get("bearer").is_some());
            if bearer {
                assert!(operation["responses"].get("401").is_some(), "{method} {path} lacks its 401");
            }
        }
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value =
        app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/healthz", "get"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/register/complete", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/password", "post"),
        ("/api/v1/auth/sessions", "get"),
        ("/api/v1/auth/sessions/{id}", "delete"),
        ("/api/v1/auth/mfa", "get"),
        ("/api/v1/auth/mfa/verify", "post"),
        ("/api/v1/auth/mfa/totp", "post"),
        ("/api/v1/auth/mfa/totp/confirm", "post"),
        ("/api/v1/auth/mfa/totp/disable", "post"),
        ("/api/v1/auth/mfa/recovery-codes", "post"),
        ("/api/v1/auth/password/forgot", "post"),
        ("/api/v1/auth/password/reset", "post"),
        ("/api/v1/csp-report", "post"),
        ("/api/v1/auth/oauth/providers", "get"),
        ("/api/v1/auth/oauth/{provider}/start", "get"),
        ("/api/v1/auth/oauth/{provider}/callback", "get"),
        ("/api/v1/auth/oauth/exchange", "post"),
        ("/api/v1/auth/oauth/popup.js", "get"),
        ("/api/v1/auth/oauth/link", "post"),
        ("/api/v1/auth/oauth/identities", "get"),
        ("/api/v1/auth/oauth/{provider}/unlink", "post"),
        ("/api/v1/rooms", "get"),
        ("/api/v1/rooms", "post"),
        ("/api/v1/rooms/direct", "post"),
        ("/api/v1/rooms/support", "post"),
        ("/api/v1/rooms/{id}/messages", "get"),
        ("/api/v1/rooms/{room}/messages/{id}", "patch"),
        ("/api/v1/rooms/{room}/messages/{id}", "delete"),
        ("/api/v1/rooms/{room}/messages/{id}/versions", "get"),
        ("/api/v1/rooms/{id}/join", "post"),
        ("/api/v1/rooms/{id}/leave", "post"),
        ("/api/v1/rooms/{id}/members", "get"),
        ("/api/v1/rooms/{id}/members", "post"),
        ("/api/v1/rooms/{id}/members/{user}", "delete"),
        ("/api/v1/rooms/{id}/bans", "post"),
        ("/api/v1/rooms/{id}/bans/{user}", "delete"),
        ("/api/v1/rooms/{id}/read", "put"),
        ("/api/v1/sites/{public_id}", "get"),
        ("/api/v1/site/settings", "get"),
        ("/api/v1/site/settings", "patch"),
        ("/api/v1/site/people/{user}/role", "put"),
        ("/api/v1/site/people/{user}/sessions", "delete"),
        ("/api/v1/site/audit", "get"),
        ("/api/v1/presence", "get"),
        ("/api/v1/ws", "get"),
        ("/api/v1/openapi.json", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from the document");
    }
    assert_eq!(paths.len(), 47, "the document lists a route this test does not know: {:?}", paths.keys());
    assert!(doc["components"]["schemas"]["ClientFrame"].is_object());
    assert!(doc["components"]["schemas"]["ErrorCode"].is_object());
}

#[tokio::test]
async fn cors_answers_only_allowed_origins() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/refresh"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-palisade-csrf")
            .send()
    };
    let allowed = preflight(ORIGIN).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], ORIGIN, "the exact origin, never *");
    // Credentials, because the refresh cookie must reach /auth/refresh from the host page.
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    let allowed_headers = allowed.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(allowed_headers.contains("x-palisade-csrf"), "{allowed_headers}");
    assert!(allowed.headers()["vary"].to_str().unwrap().to_lowercase().contains("origin"));
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    assert!(refused.headers().get("access-control-allow-credentials").is_none());
    // Every method the API routes use, or the widget's read markers and edits never leave the
    // browser.
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let answer = app
            .http
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/rooms"))
            .header("origin", ORIGIN)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "authorization,content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "preflight for {method}");
        let methods = answer.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
        assert!(methods.contains(method), "{method} missing from {methods}");
    }
}

#[tokio::test]
async fn the_server_speaks_tls_with_a_generated_certificate() {
    let app = TestApp::spawn_with(TlsMode::SelfSigned).await;
    assert!(app.base.starts_with("https://"));
    assert!(app.is_healthy().await);
    let key = app.config.data_dir.join("tls").join("localhost.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o600);
}
