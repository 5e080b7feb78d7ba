//! Where browsers report Content-Security-Policy violations on our pages (`report-uri` and
//! `report-to` in their CSP). A violation on a page of ours is either a bug or someone trying
//! to inject script, so each one is logged (`csp_violation`, warn) and counted.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use palisade_protocol::ErrorCode;
use serde_json::Value;

use crate::app::AppState;
use crate::error::ApiError;

/// The longest piece of a report the log keeps.
const FIELD_MAX: usize = 200;

/// The one violation a report describes, in either format.
#[derive(Debug, Default, PartialEq, Eq)]
struct Violation {
    directive: String,
    blocked: String,
    document: String,
}

fn text(value: &Value, keys: &[&str]) -> String {
    let found = keys.iter().find_map(|key| value.get(*key).and_then(Value::as_str)).unwrap_or_default();
    found.chars().take(FIELD_MAX).collect()
}

/// The violations in a body: `{"csp-report": {…}}` from `report-uri`, or a Reporting API list
/// (`[{"type": "csp-violation", "body": {…}}]`) from `report-to`. `None` for anything else.
fn violations(body: &Value) -> Option<Vec<Violation>> {
    let legacy = |entry: &Value| Violation {
        directive: text(entry, &["effective-directive", "violated-directive"]),
        blocked: text(entry, &["blocked-uri"]),
        document: text(entry, &["document-uri"]),
    };
    let modern = |entry: &Value| Violation {
        directive: text(entry, &["effectiveDirective"]),
        blocked: text(entry, &["blockedURL"]),
        document: text(entry, &["documentURL"]),
    };
    match body {
        Value::Object(object) => object.get("csp-report").filter(|r| r.is_object()).map(|r| vec![legacy(r)]),
        Value::Array(reports) => Some(
            reports
                .iter()
                .filter(|r| r.get("type").and_then(Value::as_str) == Some("csp-violation"))
                .filter_map(|r| r.get("body").filter(|b| b.is_object()).map(modern))
                .collect(),
        ),
        _ => None,
    }
}

/// Takes a browser's CSP violation report. Anyone may send one, so it is only logged and
/// counted, never stored, and bounded in size (as every body) and per address.
#[utoipa::path(
    tag = "health",
    security(()),
    request_body(content = serde_json::Value, content_type = "application/csp-report",
        description = "`{\"csp-report\": {...}}` (report-uri), or a Reporting API list as application/reports+json"),
    responses(
        (status = 204, description = "taken"),
        (status = 422, body = palisade_protocol::ErrorBody, description = "not a CSP violation report"),
        (status = 429, body = palisade_protocol::ErrorBody, description = "too many reports from this address"),
    )
)]
#[post("/csp-report")]
pub async fn report(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    state.report_limiter.check(&req)?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !matches!(media, "application/csp-report" | "application/reports+json" | "application/json") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send application/csp-report or application/reports+json",
        ));
    }
    let found = serde_json::from_slice::<Value>(&body).ok().as_ref().and_then(violations);
    let Some(found) = found else {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "not a CSP violation report"));
    };
    for violation in found {
        state.metrics.csp_violation();
        // Structured fields: whatever the report says cannot forge a log line.
        tracing::warn!(
            event = "csp_violation",
            directive = violation.directive,
            blocked = violation.blocked,
            document = violation.document,
            "a page of ours broke its Content-Security-Policy"
        );
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_report_formats_are_read_and_anything_else_is_not() {
        let legacy = json!({"csp-report": {"document-uri": "https://chat.example/api/v1/auth/oauth/x/callback",
            "violated-directive": "script-src-elem", "effective-directive": "script-src-elem", "blocked-uri": "inline"}});
        let expected = Violation {
            directive: "script-src-elem".into(),
            blocked: "inline".into(),
            document: "https://chat.example/api/v1/auth/oauth/x/callback".into(),
        };
        assert_eq!(violations(&legacy), Some(vec![expected]));
        let modern = json!([{"type": "csp-violation", "body": {"effectiveDirective": "img-src",
            "blockedURL": "https://evil.example/x.png", "documentURL": "https://chat.example/"}},
            {"type": "deprecation", "body": {}}]);
        let found = violations(&modern).unwrap();
        assert_eq!(found.len(), 1, "other report types are skipped");
        assert_eq!(found[0].directive, "img-src");
        let long = json!({"csp-report": {"blocked-uri": "x".repeat(5000)}});
        assert_eq!(violations(&long).unwrap()[0].blocked.len(), FIELD_MAX);
        for other in [json!({"csp-report": "text"}), json!({"something": 1}), json!(42), json!("csp")] {
            assert_eq!(violations(&other), None, "{other}");
        }
    }
}
