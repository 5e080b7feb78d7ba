//! Security headers on every response, chosen in one place by what the route serves.
//!
//! - API (JSON, WebSocket upgrade, health): nothing may frame, embed or cache it.
//! - Widget assets: the host page loads them from another site, so they must be loadable
//!   cross-origin (CORP `cross-origin`), including by cross-origin-isolated hosts. Opened
//!   directly they are documents like any other: no framing, nothing allowed (a script or
//!   stylesheet loaded by a page is governed by that page's CSP, not by its own). A page whose
//!   origin CORS lets read a file may also time it (`Timing-Allow-Origin`, that origin only), so
//!   site owners can see in Resource Timing what the widget costs their pages.
//! - HTML: a strict CSP that allows only our own scripts and styles, with Trusted Types;
//!   WebAssembly compilation only for the development page under `/widget/`, which runs the
//!   widget (the sign-in popup's pages run one small script and no WebAssembly).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

const HSTS: &str = "max-age=63072000; includeSubDomains; preload";
const PERMISSIONS: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), \
                           microphone=(), payment=(), usb=(), interest-cohort=()";
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const WIDGET_PAGE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                               img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
                               frame-ancestors 'none'; object-src 'none'; require-trusted-types-for 'script'; \
                               trusted-types 'none'; report-uri /api/v1/csp-report; report-to csp";
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                        base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'; \
                        require-trusted-types-for 'script'; trusted-types 'none'; \
                        report-uri /api/v1/csp-report; report-to csp";
/// Where `report-to csp` sends reports (the Reporting API); `report-uri` for older browsers.
const REPORTING_ENDPOINTS: &str = "csp=\"/api/v1/csp-report\"";

/// What a route serves, for choosing its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Api,
    WidgetAsset,
    /// The development page that mounts the widget.
    WidgetPage,
    /// Any other HTML: the sign-in popup's pages.
    Page,
}

fn kind(path: &str, content_type: Option<&HeaderValue>) -> Kind {
    let html = content_type.and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    match (path.starts_with("/widget/"), html) {
        (true, true) => Kind::WidgetPage,
        (false, true) => Kind::Page,
        (true, false) => Kind::WidgetAsset,
        (false, false) => Kind::Api,
    }
}

fn set(headers: &mut actix_web::http::header::HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

/// Middleware: adds the header set of the route's kind to every response, errors included.
pub async fn add(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path().to_owned();
    let mut response = next.call(req).await?;
    let kind = kind(&path, response.headers().get(header::CONTENT_TYPE));
    let headers = response.headers_mut();
    set(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, HeaderName::from_static("permissions-policy"), PERMISSIONS);
    // Every text we serve is UTF-8 (JSON by definition, RFC 8259); saying so leaves no client
    // or scanner guessing.
    let with_charset = match headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes) {
        Some(b"application/json") => Some("application/json; charset=utf-8"),
        Some(b"text/javascript" | b"application/javascript") => Some("text/javascript; charset=utf-8"),
        Some(b"text/css") => Some("text/css; charset=utf-8"),
        _ => None,
    };
    if let Some(content_type) = with_charset {
        set(headers, header::CONTENT_TYPE, content_type);
    }
    match kind {
        Kind::Api => {
            set(headers, header::CONTENT_SECURITY_POLICY, API_CSP);
            set(headers, header::CACHE_CONTROL, "no-store");
            set(headers, header::X_FRAME_OPTIONS, "DENY");
            set(headers, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
            // CORP only governs no-cors loads; the widget's fetches are CORS and unaffected.
            set(headers, HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
        }
        Kind::WidgetAsset => {
            set(headers, header::CONTENT_SECURITY_POLICY, API_CSP);
            set(headers, header::X_FRAME_OPTIONS, "DENY");
            set(headers, HeaderName::from_static("cross-origin-resource-policy"), "cross-origin");
            // Set by the CORS layer only for an origin some site allows; never `*`.
            if let Some(origin) = headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).cloned() {
                headers.insert(HeaderName::from_static("timing-allow-origin"), origin);
            }
        }
        Kind::WidgetPage | Kind::Page => {
            let csp = if kind == Kind::WidgetPage { WIDGET_PAGE_CSP } else { PAGE_CSP };
            set(headers, header::CONTENT_SECURITY_POLICY, csp);
            set(headers, HeaderName::from_static("reporting-endpoints"), REPORTING_ENDPOINTS);
            set(headers, header::X_FRAME_OPTIONS, "DENY");
            set(headers, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
            set(headers, HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
        }
    }
    // The sign-in popup must keep `window.opener` (the host page, another origin) through the
    // provider and back, to post its result there; `same-origin` would sever it.
    if path.starts_with(OAUTH_POPUP_PATHS) {
        set(headers, HeaderName::from_static("cross-origin-opener-policy"), "unsafe-none");
    }
    Ok(response)
}

const OAUTH_POPUP_PATHS: &str = "/api/v1/auth/oauth/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_told_apart_by_path_and_content_type() {
        let html = HeaderValue::from_static("text/html; charset=utf-8");
        let js = HeaderValue::from_static("text/javascript");
        let json = HeaderValue::from_static("application/json");
        assert_eq!(kind("/widget/palisade.js", Some(&js)), Kind::WidgetAsset);
        assert_eq!(kind("/widget/index.html", Some(&html)), Kind::WidgetPage);
        assert_eq!(kind("/api/v1/auth/oauth/github/callback", Some(&html)), Kind::Page);
        assert_eq!(kind("/api/v1/rooms", Some(&json)), Kind::Api);
        assert_eq!(kind("/healthz", None), Kind::Api);
        assert_eq!(kind("/widgetx", None), Kind::Api);
    }
}
