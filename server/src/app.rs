//! Wiring: shared state, the actix application, and starting the server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::{App, HttpServer, web};
use palisade_auth::{AccessTokens, PasswordHasher};
use palisade_bus::{Bus, LocalBus, Presence};
use palisade_store::Store;
use palisade_store::group_commit::Appender;
use palisade_vault::SigningKey;
use thiserror::Error;
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};

use crate::audit::Audit;
use crate::config::Config;
use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::origins::OriginSet;
use crate::rate_limit::{IpLimiter, KeyedLimiter};
use crate::refusal_watch::{Refusal, RefusalWatch};
use crate::sealing::{KeySetupError, Sealer};
use crate::shutdown::{Shutdown, Stopper};
use crate::socket_cap::SocketCap;
use crate::{
    connection_cap, extract, https_redirect, metrics, openapi, private_files, routes, sealing, security_headers, tls,
    ws,
};

/// Everything request handlers share.
#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub passwords: PasswordHasher,
    pub tokens: AccessTokens,
    pub bus: Arc<dyn Bus>,
    pub presence: Presence,
    /// Where new messages are stored, in group commits.
    pub appender: Appender,
    pub origins: OriginSet,
    pub sealer: Arc<Sealer>,
    pub audit: Audit,
    pub metrics: Arc<Metrics>,
    pub auth_limiter: IpLimiter,
    /// CSP violation reports per address: anyone may send them.
    pub report_limiter: IpLimiter,
    /// What a signed-out widget reads about a site (its name, sign-up mode, providers) per
    /// address: nothing to guess there, so not the sign-in budget, but not free either.
    pub lookup_limiter: IpLimiter,
    pub connect_limiter: IpLimiter,
    pub socket_cap: Arc<SocketCap>,
    /// Connections of any kind open at once per network.
    pub connection_cap: Arc<SocketCap>,
    /// Counts refused Origins per network and flags a probe.
    pub refusals: Arc<RefusalWatch>,
    pub send_limiter: KeyedLimiter<palisade_protocol::UserId>,
    pub api_limiter: KeyedLimiter<palisade_protocol::UserId>,
    /// Each WebSocket's own allowance of frames.
    pub ws_frame_quota: governor::Quota,
    pub mailer: Mailer,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub shutdown: Shutdown,
    /// Sign-in providers (OAuth/OIDC) from the configuration.
    pub oauth: crate::oauth::Providers,
}

#[derive(Debug, Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Store(#[from] palisade_store::StoreError),
    #[error(transparent)]
    PrivateFile(#[from] private_files::PrivateFileError),
    #[error("access-token signing key: {0}")]
    SigningKey(#[from] palisade_vault::KeyFileError),
    #[error("encryption keys: {0}")]
    Vault(#[from] KeySetupError),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error("{0}")]
    Setup(String),
}

/// How often the CORS layer re-reads the allowed origins, so site changes made with the CLI
/// reach a running server.
const ORIGINS_REFRESH: Duration = Duration::from_secs(30);
/// How long a sign-in waits for a free password-hashing slot before answering 503.
const PASSWORD_QUEUE_WAIT: Duration = Duration::from_secs(2);
/// Room events buffered on the bus before a subscriber counts as lagging.
const BUS_CAPACITY: usize = 1024;
/// The most messages one group commit holds: enough to amortise a commit over many at load,
/// few enough that one transaction stays short.
const MESSAGE_BATCH: usize = 256;

/// A started server: the API listener and, unless turned off, the metrics listener and the
/// plain-HTTP redirect listener.
pub struct Running {
    pub addr: SocketAddr,
    pub tls: bool,
    pub metrics_addr: Option<SocketAddr>,
    pub redirect_addr: Option<SocketAddr>,
    server: actix_web::dev::Server,
    /// The listeners that live and die with the API server, by name.
    side: Vec<(&'static str, actix_web::dev::Server)>,
    shutdown: Shutdown,
    certificate: Option<Arc<tls::Certificate>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .field("metrics_addr", &self.metrics_addr)
            .field("redirect_addr", &self.redirect_addr)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// What stops this server gracefully: see [`crate::shutdown`]. The server handles no
    /// signals itself, so that only the binary, not a test embedding it, takes over Ctrl-C.
    pub fn stopper(&self) -> Stopper {
        Stopper::new(self.server.handle(), self.shutdown.clone())
    }

    /// The certificate served over TLS, to reload when its files are renewed.
    pub fn certificate(&self) -> Option<Arc<tls::Certificate>> {
        self.certificate.clone()
    }

    /// Serves until the API server stops; the side listeners stop with it.
    pub async fn run(self) -> std::io::Result<()> {
        let mut handles = Vec::new();
        for (name, listener) in self.side {
            handles.push(listener.handle());
            tokio::spawn(async move {
                if let Err(error) = listener.await {
                    tracing::error!(%error, listener = name, "a listener stopped");
                }
            });
        }
        let result = self.server.await;
        for handle in handles {
            handle.stop(false).await;
        }
        result
    }
}

/// Binds `addr` and starts `serve` on it, unless `addr` is empty (turned off).
fn side_listener(
    addr: &str,
    serve: impl FnOnce(TcpListener) -> std::io::Result<(SocketAddr, actix_web::dev::Server)>,
) -> Result<Option<(SocketAddr, actix_web::dev::Server)>, StartError> {
    if addr.is_empty() {
        return Ok(None);
    }
    let listen_error = |source| StartError::Listen { addr: addr.to_owned(), source };
    let listener = TcpListener::bind(addr).map_err(listen_error)?;
    serve(listener).map(Some).map_err(listen_error)
}

fn state(config: &Config) -> Result<AppState, StartError> {
    private_files::private_dir(&config.data_dir)?;
    let store = Store::open(config.database_url().expose(), config.database_max_connections)?;
    let signing_key = match &config.access_token_key_file {
        Some(path) => SigningKey::load(path)?,
        None => SigningKey::load_or_create(config.data_dir.join("keys").join("access-token.key"))?,
    };
    let tokens = AccessTokens::new(
        signing_key.expose_bytes(),
        config.public_url.clone(),
        Duration::from_secs(config.access_token_ttl_secs),
    )
    .map_err(|e| StartError::Setup(e.to_string()))?;
    let tokens = match &config.access_token_previous_key_file {
        Some(path) => tokens
            .with_previous_key(SigningKey::load(path)?.expose_bytes())
            .map_err(|e| StartError::Setup(e.to_string()))?,
        None => tokens,
    };
    let passwords = PasswordHasher::new(config.password_hash_concurrency, PASSWORD_QUEUE_WAIT)
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let origins = OriginSet::default();
    origins.replace(store.with_connection(palisade_store::sites::all_allowed_origins)?);
    let metrics = Arc::new(Metrics::default());
    let audit = Audit::spawn(store.clone(), Arc::clone(&metrics));
    let sealer = Arc::new(Sealer::load(config, &store, audit.clone())?);
    let auth_limiter = IpLimiter::new("auth", config.auth_requests_per_minute, config.auth_burst, Arc::clone(&metrics));
    let report_limiter = IpLimiter::new("csp_report", CSP_REPORTS_PER_MINUTE, CSP_REPORT_BURST, Arc::clone(&metrics));
    let lookup_limiter = IpLimiter::new("site_lookup", LOOKUPS_PER_MINUTE, LOOKUP_BURST, Arc::clone(&metrics));
    let connect_limiter =
        IpLimiter::new("ws_connect", config.ws_connects_per_minute, config.ws_connect_burst, Arc::clone(&metrics));
    let send_limiter =
        KeyedLimiter::new("message", config.messages_per_minute, config.message_burst, Arc::clone(&metrics));
    let socket_cap = Arc::new(SocketCap::new("ws_open", config.ws_sockets_per_address, Arc::clone(&metrics)));
    let connection_cap = Arc::new(SocketCap::new("connection", config.connections_per_address, Arc::clone(&metrics)));
    let api_limiter = KeyedLimiter::new("api", config.api_requests_per_minute, config.api_burst, Arc::clone(&metrics));
    let mailer = Mailer::new(config)?;
    let oauth = crate::oauth::Providers::from_config(config).map_err(StartError::Setup)?;
    let refusals = Arc::new(RefusalWatch::new(audit.clone(), Arc::clone(&metrics)));
    Ok(AppState {
        appender: Appender::spawn(store.clone(), MESSAGE_BATCH),
        store,
        passwords,
        tokens,
        bus: Arc::new(LocalBus::new(BUS_CAPACITY)),
        presence: Presence::new(BUS_CAPACITY),
        origins,
        sealer,
        audit,
        metrics,
        auth_limiter,
        report_limiter,
        lookup_limiter,
        connect_limiter,
        socket_cap,
        connection_cap,
        refusals,
        send_limiter,
        api_limiter,
        ws_frame_quota: governor::Quota::per_minute(config.ws_frames_per_minute).allow_burst(config.ws_frame_burst),
        mailer,
        trusted_proxies: config.trusted_proxies.clone(),
        shutdown: Shutdown::default(),
        oauth,
    })
}

fn cors(state: &AppState, own_origin: &str) -> Cors {
    // Only origins some site allows, each echoed exactly (never `*`), with `Vary: Origin`.
    // Credentials are allowed because the refresh cookie must reach /auth/refresh and
    // /auth/logout; those also demand the CSRF header, which only an approved preflight permits.
    let (origins, refusals, trusted) =
        (state.origins.clone(), Arc::clone(&state.refusals), state.trusted_proxies.clone());
    // Our own pages (the sign-in popup) send CSP reports with our own origin.
    let own = own_origin.to_owned();
    Cors::default()
        .allowed_origin_fn(move |origin, head| {
            let allowed = origins.contains(origin.as_bytes()) || origin.as_bytes() == own.as_bytes();
            if !allowed {
                let ip = crate::client_ip::of_parts(head.peer_addr, &head.headers, &trusted);
                let client = crate::audit::Client::of_parts(ip, &head.headers);
                refusals.refused(Refusal::Cors, ip, client, None, origin.to_str().unwrap_or("(not text)"));
            }
            allowed
        })
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static(palisade_protocol::auth::CSRF_HEADER),
        ])
        .supports_credentials()
        // The widget turns Retry-After into "try again in N s".
        .expose_headers([header::RETRY_AFTER])
        .max_age(600)
}

/// A page breaking its CSP reports each violation, so a few a second is normal for a bug;
/// beyond that the reports say nothing new.
const CSP_REPORTS_PER_MINUTE: std::num::NonZeroU32 = std::num::NonZeroU32::new(60).unwrap();
const CSP_REPORT_BURST: std::num::NonZeroU32 = std::num::NonZeroU32::new(20).unwrap();

/// Each page view of a signed-out visitor makes two lookups; a shared NAT makes many.
const LOOKUPS_PER_MINUTE: std::num::NonZeroU32 = std::num::NonZeroU32::new(120).unwrap();
const LOOKUP_BURST: std::num::NonZeroU32 = std::num::NonZeroU32::new(60).unwrap();

/// How often ended sessions, spent throttle counts, idle rate-limit entries and messages past
/// their site's retention are dropped.
const HOUSEKEEPING: Duration = Duration::from_secs(600);
/// Ended sessions are kept this long so that a late replay of their tokens is still recognised.
const KEEP_ENDED_SESSIONS: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What one pass of [`prune_storage`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: usize,
    pub throttles: usize,
    /// Expired second-factor challenges, reset links and sign-up links.
    pub challenges: usize,
    pub messages: usize,
}

/// Deletes from storage, as of `now`, what has outlived its use: the storage half of the
/// periodic housekeeping, public so that tests can run a pass at a time of their choosing.
pub async fn prune_storage(store: &Store, now: i64) -> Result<Pruned, palisade_store::StoreError> {
    let keep = i64::try_from(KEEP_ENDED_SESSIONS.as_millis()).unwrap_or(i64::MAX);
    let window = i64::try_from(palisade_auth::throttle::WINDOW.as_millis()).unwrap_or(i64::MAX);
    store
        .interact(move |conn| {
            Ok(Pruned {
                sessions: palisade_store::sessions::prune(conn, now - keep)?,
                throttles: palisade_store::login_throttle::prune(conn, now, window)?,
                challenges: palisade_store::mfa::prune_challenges(conn, now)?
                    + palisade_store::password_resets::prune(conn, now)?
                    + palisade_store::sign_ups::prune(conn, now)?
                    + palisade_store::oauth::prune(conn, now)?,
                messages: palisade_store::sites::prune_past_retention(conn, now)?,
            })
        })
        .await
}

fn spawn_housekeeping(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(HOUSEKEEPING);
        loop {
            every.tick().await;
            state.auth_limiter.0.forget_idle();
            state.connect_limiter.0.forget_idle();
            state.send_limiter.forget_idle();
            state.api_limiter.forget_idle();
            match prune_storage(&state.store, palisade_store::now_millis()).await {
                Ok(Pruned { sessions, throttles, challenges, messages }) => {
                    tracing::debug!(sessions, throttles, challenges, messages, "housekeeping done");
                }
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
            }
        }
    });
}

fn spawn_origin_refresh(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(ORIGINS_REFRESH);
        every.tick().await;
        loop {
            every.tick().await;
            match state.store.interact(palisade_store::sites::all_allowed_origins).await {
                Ok(origins) => state.origins.replace(origins),
                Err(e) => tracing::warn!(error = %e, "could not refresh allowed origins"),
            }
        }
    });
}

/// Opens the database, loads keys, binds the listener and starts serving.
/// Returns once the socket is bound; the returned server future must be polled (spawned).
pub fn start(config: &Config) -> Result<Running, StartError> {
    let state = web::Data::new(state(config)?);
    let shutdown = state.shutdown.clone();
    spawn_origin_refresh(state.clone().into_inner());
    spawn_housekeeping(state.clone().into_inner());
    sealing::spawn_maintenance(Arc::clone(&state.sealer), state.store.clone(), Arc::clone(&state.metrics));
    let metrics = Arc::clone(&state.metrics);
    let metrics = side_listener(&config.metrics_listen, |listener| metrics::serve(metrics, listener))?;
    let public_url = config.public_url.clone();
    let redirect = side_listener(&config.http_redirect_listen, |listener| https_redirect::serve(listener, public_url))?;
    let tls = tls::server_config(config)?;
    let listener = TcpListener::bind(&config.listen)
        .map_err(|source| StartError::Listen { addr: config.listen.clone(), source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen.clone(), source })?;
    let widget_dir = config.widget_dir.clone();
    let own_origin = crate::origins::of_url(&config.public_url).to_owned();
    if !widget_dir.join("palisade.js").exists() {
        tracing::warn!(dir = %widget_dir.display(), "no built widget here; /widget/ will answer 404 (run `cargo xtask demo`)");
    }
    let document = web::Data::new(openapi::Document(api_document()?));
    let (cap, trusted) = (Arc::clone(&state.connection_cap), state.trusted_proxies.clone());
    let factory = move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .openapi(openapi::BaseDoc::openapi())
            .app_data(state.clone())
            .app_data(document.clone())
            .app_data(extract::json_config())
            // Raw bodies (CSP reports) are bounded like JSON ones.
            .app_data(web::PayloadConfig::new(palisade_protocol::limits::REST_BODY_MAX_BYTES))
            .app_data(extract::query_config())
            .app_data(extract::path_config())
            .configure(configure_api)
            .split_for_parts();
        app.service(routes::widget::service(widget_dir.clone()))
            .default_service(web::to(routes::not_found))
            .wrap(cors(&state, &own_origin))
            .wrap(actix_web::middleware::from_fn(connection_cap::enforce))
            .wrap(actix_web::middleware::from_fn(security_headers::add))
            .wrap(actix_web::middleware::from_fn(metrics::observe))
    };
    // Signals are the binary's to handle (`cli::serve`), which closes WebSockets before the drain.
    let server = HttpServer::new(factory)
        .on_connect(move |io, data| connection_cap::on_connect(&cap, &trusted, io, data))
        .client_request_timeout(Duration::from_secs(10))
        .shutdown_timeout(10)
        .disable_signals();
    let (server, certificate) = match tls {
        Some((tls, certificate)) => (server.listen_rustls_0_23(listener, tls), Some(certificate)),
        None => (server.listen(listener), None),
    };
    let server = server.map_err(|source| StartError::Listen { addr: config.listen.clone(), source })?.run();
    let (metrics_addr, metrics) = metrics.unzip();
    let (redirect_addr, redirect) = redirect.unzip();
    let side = [("metrics", metrics), ("https_redirect", redirect)]
        .into_iter()
        .filter_map(|(name, listener)| listener.map(|listener| (name, listener)))
        .collect();
    Ok(Running { addr, tls: certificate.is_some(), metrics_addr, redirect_addr, server, side, shutdown, certificate })
}

fn configure_api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(routes::health::healthz).service(
        scope::scope("/api/v1")
            .service(routes::sign_up::register)
            .service(routes::sign_up::complete)
            .service(routes::auth::login)
            .service(routes::auth::change_password)
            .service(routes::oauth::providers)
            .service(routes::oauth::start)
            .service(routes::oauth::callback)
            .service(routes::oauth::exchange)
            .service(routes::oauth::popup_script)
            .service(routes::oauth_link::request_link)
            .service(routes::oauth_link::identities)
            .service(routes::oauth_link::unlink)
            .service(routes::sessions::refresh)
            .service(routes::sessions::logout)
            .service(routes::sessions::list)
            .service(routes::sessions::end)
            .service(routes::mfa::verify)
            .service(routes::mfa::status)
            .service(routes::mfa::enroll)
            .service(routes::mfa::confirm)
            .service(routes::mfa::disable)
            .service(routes::mfa::regenerate_codes)
            .service(routes::password_reset::forgot)
            .service(routes::password_reset::reset)
            .service(routes::csp_report::report)
            .service(routes::sites::info)
            .service(routes::site_admin::settings)
            .service(routes::site_admin::change_settings)
            .service(routes::site_admin::assign_role)
            .service(routes::site_admin::end_sessions)
            .service(routes::site_admin::audit_trail)
            .service(routes::rooms::list)
            .service(routes::rooms::create)
            .service(routes::rooms::start_direct)
            .service(routes::rooms::start_support)
            .service(routes::messages::history)
            .service(routes::messages::edit)
            .service(routes::messages::remove)
            .service(routes::messages::versions)
            .service(routes::room_members::join)
            .service(routes::room_members::leave)
            .service(routes::room_members::invite)
            .service(routes::room_members::remove)
            .service(routes::room_members::ban)
            .service(routes::room_members::unban)
            .service(routes::room_members::mark_read)
            .service(routes::room_members::list)
            .service(routes::presence::online)
            .service(ws::connect)
            .service(openapi::document),
    );
}

/// The OpenAPI document of exactly the routes [`configure_api`] registers.
pub fn api_document() -> Result<String, StartError> {
    let (_, api) =
        App::new().into_utoipa_app().openapi(openapi::BaseDoc::openapi()).configure(configure_api).split_for_parts();
    openapi::complete(&api).map_err(|e| StartError::Setup(format!("OpenAPI document: {e}")))
}
