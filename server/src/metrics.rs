//! Prometheus metrics, served on their own plain-HTTP listener (`metrics_listen`) so scraping
//! never shares a port, a TLS setup or a rate limit with the public API.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::app::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The matched route pattern (`/api/v1/rooms/{room}/messages`), never the raw path, so a
    /// scanner cannot blow up the number of series.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuditLabels {
    event: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    check: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    key: u32,
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    websockets_open: Gauge,
    messages_sent: Counter,
    audit_events: Family<AuditLabels, Counter>,
    audit_dropped: Counter,
    rate_limited: Family<ClassLabels, Counter>,
    origins_refused: Family<CheckLabels, Counter>,
    csp_violations: Counter,
    sealed_values: Family<KeyLabels, Gauge>,
    reencrypt_remaining: Gauge,
    reencrypted: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("palisade");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.5, 12))
        });
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request", latency.clone());
        let websockets_open = Gauge::default();
        registry.register("websockets_open", "WebSocket connections open now", websockets_open.clone());
        let messages_sent = Counter::default();
        registry.register("messages_sent", "Chat messages committed", messages_sent.clone());
        let audit_events = Family::<AuditLabels, Counter>::default();
        registry.register(
            "audit_events",
            "Security events recorded, by OWASP event name and outcome (authn_login_fail, crypt_decrypt_fail, ...)",
            audit_events.clone(),
        );
        let audit_dropped = Counter::default();
        registry.register(
            "audit_dropped",
            "Audit events lost because the audit writer fell behind",
            audit_dropped.clone(),
        );
        let rate_limited = Family::<ClassLabels, Counter>::default();
        registry.register("rate_limited", "Requests refused by a rate limit, by what it guards", rate_limited.clone());
        let origins_refused = Family::<CheckLabels, Counter>::default();
        registry.register(
            "origins_refused",
            "Requests refused for their Origin, by the check that refused them",
            origins_refused.clone(),
        );
        let csp_violations = Counter::default();
        registry.register(
            "csp_violations",
            "Content-Security-Policy violations browsers reported on our pages",
            csp_violations.clone(),
        );
        let sealed_values = Family::<KeyLabels, Gauge>::default();
        registry.register("sealed_values", "Stored values sealed under each data key", sealed_values.clone());
        let reencrypt_remaining = Gauge::default();
        registry.register(
            "reencrypt_remaining",
            "Values still sealed under a data key other than the active one",
            reencrypt_remaining.clone(),
        );
        let reencrypted = Counter::default();
        registry.register("reencrypted_values", "Values re-sealed under the active data key", reencrypted.clone());
        Self {
            registry,
            requests,
            latency,
            websockets_open,
            messages_sent,
            audit_events,
            audit_dropped,
            rate_limited,
            origins_refused,
            csp_violations,
            sealed_values,
            reencrypt_remaining,
            reencrypted,
        }
    }
}

/// Counts one open WebSocket for as long as it lives.
#[derive(Debug)]
pub struct OpenSocket(Arc<Metrics>);

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.websockets_open.dec();
    }
}

impl Metrics {
    pub fn socket_opened(self: &Arc<Self>) -> OpenSocket {
        self.websockets_open.inc();
        OpenSocket(Arc::clone(self))
    }

    pub fn message_sent(&self) {
        self.messages_sent.inc();
    }

    pub fn audit_event(&self, event: &'static str, outcome: &'static str) {
        self.audit_events.get_or_create(&AuditLabels { event, outcome }).inc();
    }

    pub fn rate_limited(&self, class: &'static str) {
        self.rate_limited.get_or_create(&ClassLabels { class }).inc();
    }

    pub fn origin_refused(&self, check: &'static str) {
        self.origins_refused.get_or_create(&CheckLabels { check }).inc();
    }

    pub fn csp_violation(&self) {
        self.csp_violations.inc();
    }

    pub fn audit_dropped(&self) {
        self.audit_dropped.inc();
    }

    /// The per-key counts of the latest re-encryption pass.
    pub fn key_usage(&self, per_key: &[(u32, u64)], remaining: u64) {
        self.sealed_values.clear();
        for &(key, count) in per_key {
            self.sealed_values.get_or_create(&KeyLabels { key }).set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.reencrypt_progress(remaining);
    }

    pub fn reencrypt_progress(&self, remaining: u64) {
        self.reencrypt_remaining.set(i64::try_from(remaining).unwrap_or(i64::MAX));
    }

    pub fn reencrypted(&self, count: usize) {
        self.reencrypted.inc_by(count as u64);
    }

    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Middleware: counts and times every request by its route pattern.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<AppState>>().map(|state| Arc::clone(&state.metrics));
    let method = req.method().as_str().to_owned();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        let status = response.status().as_u16();
        metrics.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(started.elapsed().as_secs_f64());
        metrics.requests.get_or_create(&RequestLabels { method, route, status }).inc();
    }
    Ok(response)
}

async fn scrape(metrics: web::Data<Arc<Metrics>>) -> HttpResponse {
    match metrics.encode() {
        Ok(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// Binds the metrics listener; the returned server must be polled like the main one.
pub fn serve(metrics: Arc<Metrics>, listener: TcpListener) -> std::io::Result<(SocketAddr, actix_web::dev::Server)> {
    let addr = listener.local_addr()?;
    let metrics = web::Data::new(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((addr, server))
}
