//! What an operator sees: the audit trail and the Prometheus metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, RoomId};
use serde_json::json;
use support::{PASSWORD, SITE, TestApp};
use uuid::Uuid;

async fn login(app: &TestApp, email: &str, password: &str) -> u16 {
    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("origin", support::ORIGIN)
        .header("user-agent", "audit-test/1.0")
        .json(&json!({"site": SITE, "email": email, "password": password}))
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// Waits until the scraped metrics satisfy `ok`.
async fn metrics_until(app: &TestApp, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.metrics().await;
        if ok(&metrics) {
            return metrics;
        }
        assert!(Instant::now() < deadline, "metrics never showed {what}:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sign_ins_land_in_the_audit_trail_without_secrets() {
    let app = TestApp::spawn().await;
    app.token("ada@example.org", "Ada").await;
    let wrong = "not the password at all";
    assert_eq!(login(&app, "ada@example.org", wrong).await, 401);
    assert_eq!(login(&app, "nobody@example.org", wrong).await, 401);
    tokio::time::sleep(Duration::from_millis(1100)).await; // the back-off after a failure
    assert_eq!(login(&app, "ada@example.org", PASSWORD).await, 200);

    let mut failures = app.audit_events("authn_login_fail").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while failures.len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        failures = app.audit_events("authn_login_fail").await;
    }
    assert_eq!(failures.len(), 2, "{failures:?}");
    let reasons: Vec<String> = failures
        .iter()
        .map(|f| serde_json::from_str::<serde_json::Value>(&f.details).unwrap()["reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(reasons.contains(&"unknown_account".to_owned()), "{reasons:?}");
    assert!(reasons.contains(&"wrong_password".to_owned()), "{reasons:?}");
    let success = app.audit_events("authn_login_success").await;
    assert_eq!(success.len(), 1);
    let event = &success[0];
    assert!(event.actor_id.is_some() && event.site_id.is_some());
    assert_eq!(event.outcome, "success");
    assert_eq!(event.ip.as_deref(), Some("127.0.0.0"), "only the network of the address is kept");
    assert_eq!(event.user_agent.as_deref(), Some("audit-test/1.0"));

    for record in failures.iter().chain(&success) {
        let stored = format!("{record:?}");
        for secret in [PASSWORD, wrong, "ada@example.org", "nobody@example.org"] {
            assert!(!stored.contains(secret), "the audit trail holds {secret:?}: {stored}");
        }
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"palisade_audit_events_total{event="authn_login_fail",outcome="failure"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_sockets_and_messages() {
    let app = TestApp::spawn().await;
    let token = app.token("ada@example.org", "Ada").await;
    for _ in 0..2 {
        // Two different raw paths, one route: the label must be the pattern.
        let path = format!("/api/v1/rooms/{}/messages", Uuid::new_v4());
        assert_eq!(app.get_authed(&path, &token).await.status(), 404);
    }
    let room: RoomId = app.default_room(&token).await;
    let mut socket = app.ws(&token).await;
    let client_id = ClientMessageId(Uuid::new_v4());
    socket.send(&ClientFrame::Send { room, client_id, body: "counted".into() }).await;
    assert!(matches!(socket.recv().await, ServerFrame::Ack { .. }));

    let metrics = metrics_until(&app, "the open socket", |m| m.contains("palisade_websockets_open 1")).await;
    assert!(
        metrics.contains(
            r#"palisade_http_requests_total{method="GET",route="/api/v1/rooms/{id}/messages",status="404"} 2"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("palisade_messages_sent_total 1"), "{metrics}");
    assert!(metrics.contains(r#"palisade_http_request_duration_seconds_count{route="/api/v1/auth/register"} 1"#));
    assert!(!metrics.contains(&room.to_string()), "raw ids must never become labels");

    drop(socket);
    metrics_until(&app, "the closed socket", |m| m.contains("palisade_websockets_open 0")).await;
}

#[tokio::test]
async fn metrics_have_their_own_listener_and_the_api_does_not_serve_them() {
    let app = TestApp::spawn().await;
    assert_eq!(app.http.get(app.url("/metrics")).send().await.unwrap().status(), 404);
    let api_on_metrics = app.http.get(format!("http://{}/api/v1/rooms", app.metrics_addr)).send().await.unwrap();
    assert_eq!(api_on_metrics.status(), 404);
    let scrape = app.http.get(format!("http://{}/metrics", app.metrics_addr)).send().await.unwrap();
    assert_eq!(scrape.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
}

/// A sign-in as a trusted proxy would pass it on for a client at `forwarded_for`.
async fn login_from(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> u16 {
    let body = serde_json::json!({"site": SITE, "email": email, "password": password});
    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("origin", support::ORIGIN)
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

async fn failed_login_from(app: &TestApp, forwarded_for: &str) -> u16 {
    login_from(app, forwarded_for, "ada@example.org", "not the password at all").await
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let direct = TestApp::spawn().await;
    direct.token("ada@example.org", "Ada").await;
    assert_eq!(failed_login_from(&direct, "203.0.113.9").await, 401);
    let seen = direct.audit_events("authn_login_fail").await;
    assert_eq!(seen[0].ip.as_deref(), Some("127.0.0.0"), "a client cannot pick its address with a header");

    let proxied =
        TestApp::spawn_configured(|config| config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    proxied.token("ada@example.org", "Ada").await;
    assert_eq!(failed_login_from(&proxied, "203.0.113.9").await, 401);
    let seen = proxied.audit_events("authn_login_fail").await;
    assert_eq!(seen[0].ip.as_deref(), Some("203.0.113.0"), "behind the proxy, the address it saw counts");
    // The back-off follows the real client's network, not the proxy's.
    assert_eq!(failed_login_from(&proxied, "203.0.113.9").await, 429);
    assert_eq!(failed_login_from(&proxied, "198.51.100.4").await, 401);
}

#[tokio::test]
async fn many_accounts_failing_from_one_network_is_flagged_and_only_that_network_waits() {
    let app = TestApp::spawn_configured(|config| config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    app.token("ada@example.org", "Ada").await;
    let stuffer = "203.0.113.9";
    for n in 0..19 {
        assert_eq!(login_from(&app, stuffer, &format!("victim{n}@example.org"), "Summer2026!").await, 401);
    }
    assert_eq!(login_from(&app, stuffer, "ada@example.org", PASSWORD).await, 200, "19 emails are not stuffing yet");
    assert_eq!(login_from(&app, stuffer, "victim19@example.org", "Summer2026!").await, 401);
    // The twentieth email blocks the whole network, right passwords too…
    assert_eq!(login_from(&app, "203.0.113.77", "ada@example.org", PASSWORD).await, 429);
    // …and nobody else.
    assert_eq!(login_from(&app, "198.51.100.4", "ada@example.org", PASSWORD).await, 200);

    let flagged = app.audit_events("authn_credential_stuffing").await;
    assert_eq!(flagged.len(), 1, "flagged once, not on every later failure");
    assert_eq!(flagged[0].ip.as_deref(), Some("203.0.113.0"));
    let details: serde_json::Value = serde_json::from_str(&flagged[0].details).unwrap();
    assert_eq!(details["emails_failed_this_hour"], 20);
    assert!(!flagged[0].details.contains("victim"), "no email on the trail");
}

/// One request from `forwarded_for` whose Origin the server refuses, through each of the three
/// checks in turn.
async fn refused_origin_from(app: &TestApp, forwarded_for: &str, nth: usize) {
    let (check, response) = match nth % 3 {
        0 => (
            "cors",
            app.http
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
                .header("origin", "https://probe.example")
                .header("access-control-request-method", "POST")
                .header("x-forwarded-for", forwarded_for)
                .send(),
        ),
        1 => (
            "csrf",
            app.http
                .post(app.url("/api/v1/auth/refresh"))
                .header("origin", support::ORIGIN)
                .header("x-forwarded-for", forwarded_for)
                .json(&json!({"site": SITE}))
                .send(),
        ),
        _ => (
            "site origin",
            // Allowed for the other site, so CORS lets it through to this site's own check.
            app.http
                .post(app.url("/api/v1/auth/login"))
                .header("origin", support::OTHER_ORIGIN)
                .header("x-forwarded-for", forwarded_for)
                .json(&json!({"site": SITE, "email": "ada@example.org", "password": PASSWORD}))
                .send(),
        ),
    };
    let status = response.await.unwrap().status().as_u16();
    assert!(matches!(status, 400 | 403), "the {check} check refuses it, got {status}");
}

#[tokio::test]
async fn repeated_origin_refusals_from_one_network_are_flagged_once() {
    let app = TestApp::spawn_configured(|config| config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    app.token("ada@example.org", "Ada").await;
    let prober = "203.0.113.9";
    for nth in 0..19 {
        refused_origin_from(&app, prober, nth).await;
    }
    for nth in 0..5 {
        refused_origin_from(&app, "198.51.100.4", nth).await;
    }
    assert!(app.audit_events("malicious_cors").await.is_empty(), "19 refusals are not a probe yet");

    for nth in 19..30 {
        refused_origin_from(&app, prober, nth).await;
    }
    let flagged = app.audit_events("malicious_cors").await;
    assert_eq!(app.audit_events_at_least("malicious_cors", 2).await.len(), 1, "flagged once per window");
    assert_eq!(flagged[0].ip.as_deref(), Some("203.0.113.0"), "the prober's network, not the other one");
    let details: serde_json::Value = serde_json::from_str(&flagged[0].details).unwrap();
    assert_eq!(details["refusals"], 20);
    assert_eq!(details["last_check"], "csrf", "the twentieth went through the CSRF check");

    let metrics = metrics_until(&app, "refusals by check", |m| m.contains("palisade_origins_refused_total")).await;
    // Every refusal is counted, from both networks: 30 from the prober, 5 from the other.
    for (check, count) in [("cors", 12), ("csrf", 12), ("site_origin", 11)] {
        let line = format!("palisade_origins_refused_total{{check=\"{check}\"}} {count}");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn csp_violation_reports_from_our_pages_are_counted_and_nothing_else_is_taken() {
    let app = TestApp::spawn_configured(|config| config.public_url = "https://chat.example".into()).await;
    let post = |content_type: &'static str, body: String| {
        app.http
            .post(app.url("/api/v1/csp-report"))
            // Our own popup page reports with our own origin, which no site lists.
            .header("origin", "https://chat.example")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let legacy = json!({"csp-report": {"document-uri": "https://chat.example/api/v1/auth/oauth/x/callback",
        "effective-directive": "script-src-elem", "blocked-uri": "inline"}});
    assert_eq!(post("application/csp-report", legacy.to_string()).await.unwrap().status(), 204);
    let listed = json!([{"type": "csp-violation", "age": 2, "body": {"effectiveDirective": "img-src",
        "blockedURL": "https://evil.example/p.png", "documentURL": "https://chat.example/widget/index.html"}}]);
    assert_eq!(post("application/reports+json", listed.to_string()).await.unwrap().status(), 204);

    assert_eq!(post("application/csp-report", "{\"not\": \"a report\"}".into()).await.unwrap().status(), 422);
    assert_eq!(post("text/plain", legacy.to_string()).await.unwrap().status(), 415);
    assert_eq!(post("application/csp-report", "x".repeat(20_000)).await.unwrap().status(), 413);
    metrics_until(&app, "two violations", |m| m.contains("palisade_csp_violations_total 2")).await;
}
