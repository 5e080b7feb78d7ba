//! Repeated cross-origin refusals from one network. One refused Origin is a misconfigured page;
//! a stream of them (CORS, CSRF and site-origin checks alike) is someone probing which origins
//! and endpoints we trust. Each refusal is counted in the metrics; a network that reaches
//! [`FLAG_AT`] refusals within [`WINDOW`] raises one `malicious_cors` audit event for that
//! window, so the operator sees the probe without the audit trail holding a row per request.
//!
//! Counts live in memory, per instance: a probe spread over several instances is flagged by
//! each one that sees enough of it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::audit::{Audit, AuditEvent, Client, Outcome};
use crate::metrics::Metrics;

pub const FLAG_AT: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// Beyond this many networks, finished windows are forgotten before a new one is tracked, so a
/// probe from many addresses cannot grow the map without bound.
const TRACKED_NETWORKS: usize = 10_000;

/// Which check refused the request's Origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No site allows the origin, so CORS refused it.
    Cors,
    /// A cookie-authenticated request without an allowed origin and the custom header.
    Csrf,
    /// The origin is not one the request's site allows.
    SiteOrigin,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cors => "cors",
            Self::Csrf => "csrf",
            Self::SiteOrigin => "site_origin",
        }
    }
}

#[derive(Debug)]
struct Tally {
    since: Instant,
    count: u32,
}

#[derive(Debug)]
pub struct RefusalWatch {
    audit: Audit,
    metrics: Arc<Metrics>,
    tallies: Mutex<HashMap<IpAddr, Tally>>,
}

impl RefusalWatch {
    pub fn new(audit: Audit, metrics: Arc<Metrics>) -> Self {
        Self { audit, metrics, tallies: Mutex::default() }
    }

    /// Counts one refusal of `origin` from `ip`, flagging the network when it reaches the mark.
    pub fn refused(&self, refusal: Refusal, ip: Option<IpAddr>, client: Client, site: Option<Uuid>, origin: &str) {
        self.metrics.origin_refused(refusal.as_str());
        let Some(ip) = ip else { return };
        let network = crate::rate_limit::subscriber(ip);
        if self.count(network, Instant::now()) != FLAG_AT {
            return;
        }
        let mut event = AuditEvent::new("malicious_cors", Outcome::Failure)
            .with_client(client)
            .with_detail("refusals", FLAG_AT)
            .with_detail("window_seconds", WINDOW.as_secs())
            .with_detail("last_check", refusal.as_str())
            .with_detail("last_origin", origin.chars().take(200).collect::<String>());
        if let Some(site) = site {
            event = event.with_site(site);
        }
        self.audit.record(event);
    }

    /// The network's refusals in its current window, this one included.
    fn count(&self, network: IpAddr, now: Instant) -> u32 {
        let mut tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
        if tallies.len() >= TRACKED_NETWORKS && !tallies.contains_key(&network) {
            tallies.retain(|_, tally| now.duration_since(tally.since) < WINDOW);
        }
        let tally = tallies.entry(network).or_insert(Tally { since: now, count: 0 });
        if now.duration_since(tally.since) >= WINDOW {
            *tally = Tally { since: now, count: 0 };
        }
        tally.count = tally.count.saturating_add(1);
        tally.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> RefusalWatch {
        let metrics = Arc::<Metrics>::default();
        RefusalWatch::new(Audit::detached(Arc::clone(&metrics)), metrics)
    }

    #[test]
    fn a_network_counts_within_its_window_and_starts_again_after_it() {
        let watch = watch();
        let start = Instant::now();
        let probe: IpAddr = "203.0.113.9".parse().unwrap();
        for n in 1..=FLAG_AT {
            assert_eq!(watch.count(probe, start + Duration::from_secs(u64::from(n))), n);
        }
        assert_eq!(watch.count("198.51.100.4".parse().unwrap(), start), 1, "another network has its own count");
        let window_end = start + Duration::from_secs(1) + WINDOW;
        assert_eq!(watch.count(probe, window_end - Duration::from_millis(1)), FLAG_AT + 1, "still the same window");
        assert_eq!(watch.count(probe, window_end), 1, "a new window starts from one");
    }

    #[test]
    fn finished_windows_are_forgotten_when_the_map_is_full() {
        let watch = watch();
        let start = Instant::now();
        for n in 0..TRACKED_NETWORKS {
            let [a, b] = u16::try_from(n).unwrap().to_be_bytes();
            watch.count(IpAddr::from([10, 0, a, b]), start);
        }
        watch.count("203.0.113.9".parse().unwrap(), start + WINDOW);
        assert_eq!(watch.tallies.lock().unwrap().len(), 1, "only the live window is kept");
    }
}
