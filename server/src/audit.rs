//! Security events: each goes to the structured log, to the metrics, and to the audit table.
//!
//! Recording never waits on the database: events go through a bounded queue to one writer task
//! that appends them in batches. If that queue is ever full the event is still logged and the
//! loss is counted (`palisade_audit_dropped_total`), so an attacker flooding us cannot stall
//! request handling through the audit trail.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::header;
use palisade_protocol::UserId;
use palisade_store::Store;
use palisade_store::audit::AuditRecord;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::metrics::Metrics;

const QUEUE: usize = 10_000;
const BATCH: usize = 256;
const USER_AGENT_MAX: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Where a request came from, reduced to what the audit trail may keep: the network of the
/// address (IPv4 /24, IPv6 /48), not the address, and a bounded user agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub fn truncate_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    }
}

impl Client {
    pub fn of(req: &HttpRequest) -> Self {
        Self::of_parts(crate::client_ip::of(req), req.headers())
    }

    /// [`Client::of`] for code that holds only the request head.
    pub fn of_parts(ip: Option<IpAddr>, headers: &header::HeaderMap) -> Self {
        let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| {
            let mut ua = ua.to_owned();
            if let Some((cut, _)) = ua.char_indices().nth(USER_AGENT_MAX) {
                ua.truncate(cut);
            }
            ua
        });
        Self { ip: ip.map(truncate_ip), user_agent }
    }
}

/// One event, built up with the `with_*` methods and handed to [`Audit::record`].
#[derive(Debug, Clone)]
pub struct AuditEvent {
    event: &'static str,
    outcome: Outcome,
    site: Option<Uuid>,
    actor: Option<UserId>,
    client: Client,
    details: Map<String, Value>,
}

impl AuditEvent {
    /// `event` is an OWASP logging vocabulary name such as `authn_login_fail`.
    pub fn new(event: &'static str, outcome: Outcome) -> Self {
        Self { event, outcome, site: None, actor: None, client: Client::default(), details: Map::new() }
    }

    pub fn with_site(mut self, site: Uuid) -> Self {
        self.site = Some(site);
        self
    }

    pub fn with_actor(mut self, actor: UserId) -> Self {
        self.actor = Some(actor);
        self
    }

    pub fn with_client(mut self, client: Client) -> Self {
        self.client = client;
        self
    }

    /// Adds a detail. Never pass secrets or message text: details are stored in clear.
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// The handle handlers record events through; cheap to clone.
#[derive(Debug, Clone)]
pub struct Audit {
    queue: mpsc::Sender<AuditRecord>,
    metrics: Arc<Metrics>,
}

impl Audit {
    /// Starts the writer task (so it must be called inside the runtime) and returns the handle.
    pub fn spawn(store: Store, metrics: Arc<Metrics>) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, pending));
        Self { queue, metrics }
    }

    /// A handle whose events reach the log and the metrics but no table (unit tests).
    #[cfg(test)]
    pub fn detached(metrics: Arc<Metrics>) -> Self {
        let (queue, _) = mpsc::channel(1);
        Self { queue, metrics }
    }

    pub fn record(&self, event: AuditEvent) {
        let details = Value::Object(event.details);
        let site = event.site.map(|s| s.to_string());
        let actor = event.actor.map(|a| a.to_string());
        // Structured fields: whatever a value contains, it cannot forge another log line.
        match event.outcome {
            Outcome::Success => tracing::info!(
                target: "audit", event = event.event, outcome = "success", site, actor,
                ip = event.client.ip, user_agent = event.client.user_agent, %details
            ),
            Outcome::Failure => tracing::warn!(
                target: "audit", event = event.event, outcome = "failure", site, actor,
                ip = event.client.ip, user_agent = event.client.user_agent, %details
            ),
        }
        self.metrics.audit_event(event.event, event.outcome.as_str());
        let record = AuditRecord {
            id: Uuid::now_v7(),
            at: palisade_store::now_millis(),
            event: event.event.to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            site_id: event.site,
            actor_id: event.actor.map(|a| a.0),
            ip: event.client.ip,
            user_agent: event.client.user_agent,
            details: details.to_string(),
        };
        if self.queue.try_send(record).is_err() {
            self.metrics.audit_dropped();
            tracing::error!(target: "audit", event = event.event, "audit queue full; event kept in the log only");
        }
    }
}

async fn write(store: Store, mut pending: mpsc::Receiver<AuditRecord>) {
    let mut batch = Vec::with_capacity(BATCH);
    while pending.recv_many(&mut batch, BATCH).await > 0 {
        let records = std::mem::take(&mut batch);
        let count = records.len();
        if let Err(error) = store.interact(move |conn| palisade_store::audit::append(conn, &records)).await {
            // The events are in the log already; the trail misses them, and says so.
            tracing::error!(%error, lost = count, "could not write audit events");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_only_their_network() {
        assert_eq!(truncate_ip("203.0.113.77".parse().unwrap()), "203.0.113.0");
        assert_eq!(truncate_ip("2001:db8:85a3:1234::7".parse().unwrap()), "2001:db8:85a3::");
    }
}
