//! The session's life after the sign-in form: resuming it from the refresh cookie when the page
//! loads, renewing the access token before it expires (and when it was refused anyway), and
//! signing out on the server.
//!
//! The refresh cookie is HttpOnly (the widget never sees it) and rotates on every use: the
//! server ends the whole session when an already-used one comes back. Two tabs renewing at
//! once would do exactly that, so every refresh and logout runs under a Web Lock shared by all
//! tabs of the page's origin, one per site. A tab that gets the lock after another has renewed
//! simply uses the newer cookie the browser now holds.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::ErrorCode;
use palisade_protocol::SitePublicId;

use crate::api::{self, ApiError};
use crate::browser;
use crate::chat::Chat;
use crate::i18n::t;
use crate::session::AccessToken;

fn lock_name(site: &SitePublicId) -> String {
    format!("palisade-refresh-{site}")
}

/// Attempts at resuming a session the server or the network was too busy to answer.
const RESUME_ATTEMPTS: u32 = 4;

/// Looks for a session to resume (a page reload keeps the person signed in) and then shows
/// the conversation, or the sign-in form when there is none.
pub fn resume(chat: Chat) {
    spawn_local(async move {
        let config = chat.config();
        let mut attempt = 0;
        let outcome = loop {
            let result = {
                let _lock = browser::lock(&lock_name(config.site())).await;
                api::refresh(&config).await
            };
            attempt += 1;
            match result {
                Err(err) if err.is_transient() && attempt < RESUME_ATTEMPTS => {
                    browser::sleep(retry_delay(&err, attempt)).await;
                }
                other => break other,
            }
        };
        // Signed in meanwhile (there is no form while resuming, but the page's own script
        // might one day sign in): that session wins.
        if chat.session.token().is_some() {
            return;
        }
        match outcome {
            Ok(token) => chat.sign_in(token),
            // 401: no session here, which is the normal case for a first visit.
            Err(err) if err.code() == Some(ErrorCode::Unauthenticated) => chat.session.resumed(),
            Err(err) => chat.session.sign_out(Some(err.user_message())),
        }
    });
}

/// `Retry-After` when the server gave one, else 1, 2, 4… seconds.
fn retry_delay(err: &ApiError, attempt: u32) -> Duration {
    let secs = err.retry_after().unwrap_or(1_u64 << attempt.min(5).saturating_sub(1));
    Duration::from_secs(secs.clamp(1, 60))
}

/// Replaces the access token the page holds, unless it has already been replaced since
/// `stale` (the [`crate::session::Session::version`] of the token that needs replacing). On
/// 401 the session has ended: the person is signed out, with the reason.
pub async fn renew(chat: Chat, stale: u64) -> Result<(), ApiError> {
    let generation = chat.generation();
    let config = chat.config();
    let lock = browser::lock(&lock_name(config.site())).await;
    if !chat.is_current(generation) {
        return Err(ApiError::signed_out());
    }
    if chat.session.version() != stale {
        return Ok(());
    }
    let result = api::refresh(&config).await;
    // Released only now: the browser has stored the rotated cookie by the time the answer is in.
    drop(lock);
    if !chat.is_current(generation) {
        return Err(ApiError::signed_out());
    }
    match result {
        Ok(token) => {
            let mfa_required = token.mfa_enrolment_required;
            chat.session.renew(token, browser::now().as_millis());
            // Cleared only once the recovery codes have been seen (`Chat::mfa_enrolled`).
            if mfa_required {
                chat.require_mfa();
            }
            Ok(())
        }
        Err(err) => {
            if err.code() == Some(ErrorCode::Unauthenticated) {
                chat.sign_out(Some(err.user_message()));
            }
            Err(err)
        }
    }
}

/// Renews the token about a minute before it expires, for as long as this sign-in lasts. The
/// open WebSocket stays authenticated on its own; a reconnect uses the newest token.
pub fn keep_fresh(chat: Chat) {
    let generation = chat.generation();
    spawn_local(async move {
        let mut failures: u32 = 0;
        loop {
            let remaining = chat.session.renew_at() - browser::now().as_millis();
            let wait = if remaining > 0 {
                failures = 0;
                u64::try_from(remaining).unwrap_or(0)
            } else if failures > 0 {
                // A failed renewal is retried soon: the token may still be valid for a while.
                5_000_u64 << failures.min(3)
            } else {
                0
            };
            browser::sleep(Duration::from_millis(wait)).await;
            if !chat.is_current(generation) {
                return;
            }
            // Renewed meanwhile (a refused socket or request does that): wait for the new time.
            if chat.session.renew_at() > browser::now().as_millis() {
                continue;
            }
            match renew(chat, chat.session.version()).await {
                Ok(()) => failures = 0,
                Err(err) if err.code() == Some(ErrorCode::Unauthenticated) => return,
                Err(_) => failures = failures.saturating_add(1),
            }
        }
    });
}

/// The access token for a request, renewed first when it is due: timers do not run while the
/// computer sleeps, so the renewal [`keep_fresh`] planned may not have happened. When renewing
/// fails for a passing reason, the current token is still worth a try.
pub async fn token(chat: Chat) -> Result<AccessToken, ApiError> {
    if chat.session.renew_at() <= browser::now().as_millis() {
        match renew(chat, chat.session.version()).await {
            Err(err) if !err.is_transient() => return Err(err),
            _ => {}
        }
    }
    chat.session.token().ok_or_else(ApiError::signed_out)
}

/// Ends the session on the server (which deletes the refresh cookie), then here. When the
/// server cannot be told, the person stays signed in and is told why: a session that only
/// looked ended would come back on the next page load.
pub fn sign_out(chat: Chat) {
    let generation = chat.generation();
    spawn_local(async move {
        let config = chat.config();
        let result = {
            let _lock = browser::lock(&lock_name(config.site())).await;
            api::logout(&config).await
        };
        if !chat.is_current(generation) {
            return;
        }
        match result {
            Ok(()) => chat.sign_out(None),
            Err(err) => chat.error.set(Some((t().could_not_sign_out)(&err.user_message()))),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_answers_are_retried_after_retry_after_or_a_growing_delay() {
        let limited = ApiError::Server { code: ErrorCode::RateLimited, message: String::new(), retry_after: Some(7) };
        assert_eq!(retry_delay(&limited, 1), Duration::from_secs(7));
        let delays: Vec<u64> = (1..=4).map(|n| retry_delay(&ApiError::Network, n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8]);
        let huge = ApiError::Server { code: ErrorCode::ServerBusy, message: String::new(), retry_after: Some(3600) };
        assert_eq!(retry_delay(&huge, 1), Duration::from_secs(60));
    }

    #[test]
    fn one_lock_per_site() {
        assert_eq!(lock_name(&"acme".parse().unwrap()), "palisade-refresh-acme");
    }
}
