//! Sessions: what signing in creates, what the refresh cookie renews, and what access tokens
//! are checked against on every request.
//!
//! Lifetimes: access tokens 10 minutes (configurable); a session ends after 7 days without a
//! refresh, and 30 days after sign-in whatever happens.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderName, HeaderValue, SET_COOKIE};
use palisade_auth::{AccessClaims, opaque_token};
use palisade_protocol::auth::{TokenResponse, TokenType, refresh_cookie_name};
use palisade_protocol::{SessionId, SitePublicId, UserId};
use palisade_store::mfa;
use palisade_store::sessions::{self, Lifetimes, NewSession, Session};
use palisade_store::sites::Site;

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;

pub const IDLE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
pub const ABSOLUTE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// See [`Lifetimes::reuse_grace_ms`].
pub const REUSE_GRACE: Duration = Duration::from_secs(30);

pub fn lifetimes() -> Lifetimes {
    Lifetimes { idle_ms: millis(IDLE), reuse_grace_ms: millis(REUSE_GRACE) }
}

/// A `Set-Cookie` header, built by hand because the cookie crate actix uses cannot say
/// `Partitioned` yet. `__Host-` makes the browser insist on Secure, Path=/ and no Domain;
/// SameSite=None is needed because the widget is a third party on the host page; Partitioned
/// (CHIPS) keeps the cookie in that host page's jar only, so it cannot track across sites.
fn cookie_header(site: &SitePublicId, value: &str, max_age_secs: i64) -> Result<(HeaderName, HeaderValue), ApiError> {
    let cookie = format!(
        "{}={value}; Max-Age={max_age_secs}; Path=/; Secure; HttpOnly; SameSite=None; Partitioned",
        refresh_cookie_name(site)
    );
    Ok((SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?))
}

/// The header that deletes a site's refresh cookie.
pub fn clear_cookie(site: &SitePublicId) -> Result<(HeaderName, HeaderValue), ApiError> {
    cookie_header(site, "", 0)
}

/// The refresh token the request's cookie holds for `site`, if any.
pub fn presented_token(req: &HttpRequest, site: &SitePublicId) -> Option<String> {
    req.cookie(&refresh_cookie_name(site)).map(|c| c.value().to_owned())
}

/// A signed-in session: the body for the widget and the cookie for the browser.
pub struct Issued {
    pub response: TokenResponse,
    pub cookie: (HeaderName, HeaderValue),
}

fn access_token(
    state: &AppState,
    user: UserId,
    site: &SitePublicId,
    sid: SessionId,
    mfa_enrolment_required: bool,
) -> Result<TokenResponse, ApiError> {
    let access_token = state.tokens.issue(user, site.clone(), sid).map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: TokenType::Bearer,
        expires_in: state.tokens.ttl().as_secs(),
        mfa_enrolment_required,
    })
}

/// Starts a session for `user` (sign-in or registration): new refresh token, new access token.
/// When the site requires a second factor of the person's role and none is on, the session
/// may only set one up.
pub async fn start(state: &AppState, user: UserId, site: &Site, client: &Client) -> Result<Issued, ApiError> {
    let id = SessionId(uuid::Uuid::new_v4());
    let site_id = site.id;
    let mfa_pending = state.store.interact(move |conn| mfa::enrolment_due(conn, &user, &site_id)).await?;
    let token = opaque_token::generate();
    let now = palisade_store::now_millis();
    let device = describe_device(client.user_agent.as_deref());
    let ip = client.ip.clone();
    let hash = token.hash.clone();
    state
        .store
        .interact(move |conn| {
            let new = NewSession {
                id,
                user,
                now,
                expires_at: now + millis(ABSOLUTE),
                device: &device,
                ip: ip.as_deref(),
                token_hash: &hash,
                mfa_pending,
            };
            sessions::create(conn, &new)
        })
        .await?;
    Ok(Issued {
        response: access_token(state, user, &site.public_id, id, mfa_pending)?,
        cookie: cookie_header(&site.public_id, &token.token, millis(ABSOLUTE) / 1000)?,
    })
}

/// A rotated refresh: the new token's cookie lives as long as the session has left.
pub fn renewed(state: &AppState, session: &Session, site: &SitePublicId, token: &str) -> Result<Issued, ApiError> {
    let left = (session.expires_at - palisade_store::now_millis()) / 1000;
    Ok(Issued {
        response: access_token(state, session.user, site, session.id, session.mfa_pending)?,
        cookie: cookie_header(site, token, left.max(0))?,
    })
}

/// The session an access token names, if it is still live and belongs to its subject.
pub async fn live(state: &AppState, claims: &AccessClaims) -> Result<Option<Session>, ApiError> {
    let (sid, user, now) = (claims.sid, claims.sub, palisade_store::now_millis());
    let session = state.store.interact(move |conn| sessions::find_live(conn, &sid, now)).await?;
    Ok(session.filter(|s| s.user == user))
}

/// Ends the session whose refresh cookie (for `site`) the request carries, if any, and audits
/// it: on logout, and on a new sign-in in the same browser, which replaces it.
pub async fn end_presented(
    state: &AppState,
    req: &HttpRequest,
    site: &Site,
    reason: &'static str,
) -> Result<(), ApiError> {
    let Some(hash) = presented_token(req, &site.public_id).and_then(|t| opaque_token::hash(&t)) else {
        return Ok(());
    };
    let now = palisade_store::now_millis();
    let ended = state
        .store
        .interact(move |conn| {
            let Some((sid, user)) = sessions::of_token(conn, &hash)? else { return Ok(None) };
            Ok(sessions::revoke(conn, &user, &sid, now, reason)?.then_some((sid, user)))
        })
        .await?;
    if let Some((sid, user)) = ended {
        state.audit.record(
            AuditEvent::new("session_expired", Outcome::Success)
                .with_site(site.id)
                .with_actor(user)
                .with_client(Client::of(req))
                .with_detail("session", sid.to_string())
                .with_detail("reason", reason),
        );
    }
    Ok(())
}

/// "Firefox on Linux": enough for a person to recognise a device in their session list, and
/// no more (the raw user agent is not kept).
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else { return "Unknown device".into() };
    let browser =
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
            .into_iter()
            .find(|(marker, _)| ua.contains(marker))
            .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Windows", "Windows"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("Browser on {s}"),
        (None, None) => "Unknown device".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_described_briefly() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                    Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like \
                      Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Linux");
        assert_eq!(describe_device(Some(edge)), "Edge on Windows");
        assert_eq!(describe_device(Some(iphone)), "Safari on iOS");
        assert_eq!(describe_device(Some("curl/8.0")), "Unknown device");
        assert_eq!(describe_device(None), "Unknown device");
    }

    #[test]
    fn the_refresh_cookie_is_host_only_secure_httponly_and_partitioned() {
        let (name, value) = cookie_header(&"acme".parse().unwrap(), "abc123", 60).unwrap();
        assert_eq!(name, SET_COOKIE);
        assert_eq!(
            value.to_str().unwrap(),
            "__Host-palisade_refresh_acme=abc123; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=None; Partitioned"
        );
    }
}
