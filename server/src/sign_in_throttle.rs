//! The per-email sign-in throttle as the routes use it (policy in `palisade_auth::throttle`):
//! a doubling back-off per (email, client network) and an hourly cap per email across all
//! networks. Keyed by the email's blind index, whether or not an account has it, so the answers
//! are the same for both. On top, a network that fails with many different emails is taken for
//! credential stuffing and may not sign in for a while.

use palisade_auth::throttle;
use palisade_protocol::UserId;
use palisade_store::login_throttle::{self, ANY_EMAIL, Key};
use palisade_store::sites::Site;

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;

const ACCOUNT_SCOPE: &str = "account";
/// Back-offs from this long (the fifth failure in a row: 16 s) are audited as a lock.
const LOCK_NOTICE_MS: i64 = 15_000;

fn network(client: &Client) -> String {
    client.ip.clone().unwrap_or_else(|| "unknown".into())
}

fn window_ms() -> i64 {
    i64::try_from(throttle::WINDOW.as_millis()).unwrap_or(i64::MAX)
}

/// Refuses the attempt while this email is backing off for this network, or capped.
pub async fn check(state: &AppState, site: &Site, email_index: &str, client: &Client) -> Result<(), ApiError> {
    let (site_id, index, net) = (site.id, email_index.to_owned(), network(client));
    let until = state
        .store
        .interact(move |conn| {
            let here = login_throttle::blocked_until(conn, Key { site: &site_id, email_index: &index, scope: &net })?;
            let everywhere =
                login_throttle::blocked_until(conn, Key { site: &site_id, email_index: &index, scope: ACCOUNT_SCOPE })?;
            let network =
                login_throttle::blocked_until(conn, Key { site: &site_id, email_index: ANY_EMAIL, scope: &net })?;
            Ok(here.max(everywhere).max(network))
        })
        .await?;
    let now = palisade_store::now_millis();
    match until {
        Some(until) if until > now => {
            let wait = u64::try_from(until - now).unwrap_or(0).div_ceil(1000);
            Err(ApiError::rate_limited(format!("too many failed attempts; try again in {wait} s"), wait))
        }
        _ => Ok(()),
    }
}

/// Counts a failure (wrong password or code) and audits it, escalating to `authn_login_lock`
/// once the back-off becomes noticeable or the hourly cap is hit.
pub async fn count_failure(
    state: &AppState,
    site: &Site,
    email_index: &str,
    user: Option<UserId>,
    event: &'static str,
    client: &Client,
) -> Result<(), ApiError> {
    let (site_id, index, net) = (site.id, email_index.to_owned(), network(client));
    // Without an address every such client would share one network, and one block.
    let stuffing_net = client.ip.clone();
    let now = palisade_store::now_millis();
    let ((counts, backoff), (account, cap), stuffing) = state
        .store
        .interact(move |conn| {
            let here = Key { site: &site_id, email_index: &index, scope: &net };
            let backoff = login_throttle::record_failure(conn, here, now, window_ms(), |c| {
                throttle::backoff_until(c.consecutive, now)
            })?;
            let everywhere = Key { site: &site_id, email_index: &index, scope: ACCOUNT_SCOPE };
            let cap = login_throttle::record_failure(conn, everywhere, now, window_ms(), |c| {
                throttle::cap_until(c.window_failures, c.window_start)
            })?;
            let stuffing = match stuffing_net {
                Some(net) => block_stuffing(conn, &site_id, &net, now)?,
                None => None,
            };
            Ok((backoff, cap, stuffing))
        })
        .await?;
    let scoped = |mut event: AuditEvent| {
        if let Some(user) = user {
            event = event.with_actor(user);
        }
        event.with_site(site.id).with_client(client.clone())
    };
    let reason = match (event, user) {
        ("authn_mfa_fail", _) => "wrong_code",
        (_, Some(_)) => "wrong_password",
        (_, None) => "unknown_account",
    };
    state.audit.record(
        scoped(AuditEvent::new(event, Outcome::Failure))
            .with_detail("reason", reason)
            .with_detail("consecutive", counts.consecutive),
    );
    let until = backoff.max(cap);
    if until - now >= LOCK_NOTICE_MS {
        state.audit.record(
            scoped(AuditEvent::new("authn_login_lock", Outcome::Failure))
                .with_detail("seconds", (until - now).div_euclid(1000))
                .with_detail("scope", if cap >= backoff { "account" } else { "network" })
                .with_detail("failures_this_hour", account.window_failures),
        );
    }
    if let Some(emails) = stuffing {
        tracing::warn!(event = "authn_credential_stuffing", emails, "a network is trying many accounts; blocked");
        state.audit.record(
            AuditEvent::new("authn_credential_stuffing", Outcome::Failure)
                .with_site(site.id)
                .with_client(client.clone())
                .with_detail("emails_failed_this_hour", emails)
                .with_detail("blocked_seconds", throttle::STUFFING_BLOCK.as_secs()),
        );
    }
    Ok(())
}

/// Blocks network `net` once it has failed with [`throttle::STUFFING_EMAILS`] different emails
/// within the hour; the count of emails when this call is the one that blocked it.
fn block_stuffing(
    conn: &mut palisade_store::DbConnection,
    site_id: &uuid::Uuid,
    net: &str,
    now: i64,
) -> Result<Option<u32>, palisade_store::StoreError> {
    let emails = login_throttle::emails_failing(conn, site_id, net, now - window_ms())?;
    if emails < throttle::STUFFING_EMAILS {
        return Ok(None);
    }
    let until = now.saturating_add(i64::try_from(throttle::STUFFING_BLOCK.as_millis()).unwrap_or(i64::MAX));
    let key = Key { site: site_id, email_index: ANY_EMAIL, scope: net };
    Ok(login_throttle::block(conn, key, now, until)?.then_some(emails))
}

/// A success ends the back-off for the network it came from.
pub async fn record_success(state: &AppState, site: &Site, email_index: &str, client: &Client) -> Result<(), ApiError> {
    let (site_id, index, net) = (site.id, email_index.to_owned(), network(client));
    state
        .store
        .interact(move |conn| {
            login_throttle::record_success(conn, Key { site: &site_id, email_index: &index, scope: &net })
        })
        .await?;
    Ok(())
}
