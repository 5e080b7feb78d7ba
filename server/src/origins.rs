//! Origins: the exact `scheme://host[:port]` strings sites allow, and the checks against them.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use palisade_protocol::ErrorCode;
use palisade_store::sites::Site;

use crate::app::AppState;
use crate::audit::Client;
use crate::client_ip;
use crate::error::ApiError;
use crate::refusal_watch::Refusal;

/// Checks that `origin` is a serialized origin as browsers send it: http(s), a host, an
/// optional port, and nothing else (no path, no trailing slash, no credentials, no wildcard).
pub fn validate(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("{origin:?}: an origin starts with https:// or http://"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("{origin:?}: expected scheme://host[:port] in lowercase, with no path"))
    }
}

/// The origin (`scheme://host[:port]`) of an absolute URL such as `public_url`.
pub fn of_url(url: &str) -> &str {
    let host_start = url.find("://").map_or(0, |at| at + 3);
    match url[host_start..].find('/') {
        Some(path) => &url[..host_start + path],
        None => url,
    }
}

/// The union of every site's allowed origins, for the CORS layer, refreshed from storage.
#[derive(Clone, Debug, Default)]
pub struct OriginSet(Arc<RwLock<HashSet<String>>>);

impl OriginSet {
    pub fn replace(&self, origins: impl IntoIterator<Item = String>) {
        let fresh: HashSet<String> = origins.into_iter().collect();
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
    }

    pub fn contains(&self, origin: &[u8]) -> bool {
        std::str::from_utf8(origin)
            .is_ok_and(|o| self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).contains(o))
    }
}

/// The request's `Origin`, if it sent one.
pub fn of_request(req: &HttpRequest) -> Option<&str> {
    req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Refuses a request whose `Origin` is present and not allowed for the site. Browsers always
/// send `Origin` on cross-origin POSTs and WebSocket handshakes, so a page of another site
/// cannot act for a visitor; clients without an `Origin` are not browsers and gain nothing.
pub fn require_allowed(req: &HttpRequest, site: &Site) -> Result<(), ApiError> {
    match of_request(req) {
        Some(origin) if !site.allowed_origins.iter().any(|a| a == origin) => {
            tracing::warn!(event = "authz_fail", origin, "request from an origin this site does not allow");
            if let Some(state) = req.app_data::<web::Data<AppState>>() {
                let client = Client::of(req);
                state.refusals.refused(Refusal::SiteOrigin, client_ip::of(req), client, Some(site.id), origin);
            }
            Err(ApiError::new(ErrorCode::OriginNotAllowed, "this page's origin may not use this site"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_serialized_origins_are_valid() {
        for good in ["https://example.com", "http://localhost:8444", "https://a-b.example.co:443", "http://127.0.0.1:1"]
        {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "*",
            "example.com",
            "https://example.com/",
            "https://example.com/path",
            "https://Example.com",
            "https://user@example.com",
            "ftp://example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://",
            "https://*.example.com",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_urls_origin_drops_its_path() {
        assert_eq!(of_url("https://chat.example.com"), "https://chat.example.com");
        assert_eq!(of_url("https://chat.example.com:8443/"), "https://chat.example.com:8443");
        assert_eq!(of_url("https://example.com/chat/"), "https://example.com");
    }

    #[test]
    fn the_origin_set_answers_exact_matches_only() {
        let set = OriginSet::default();
        set.replace(["https://a.example".to_owned()]);
        assert!(set.contains(b"https://a.example"));
        assert!(!set.contains(b"https://a.example.evil"));
        assert!(!set.contains(b"http://a.example"));
    }
}
