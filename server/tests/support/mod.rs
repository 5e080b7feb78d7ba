//! The test harness: the real server on port 0 with a fresh database per test (SQLite by
//! default, PostgreSQL with `PALISADE_TEST_DATABASE=postgres`), and clients that talk to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use palisade_protocol::auth::{SIGN_UP_FRAGMENT, TokenResponse};
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_server::Config;
use palisade_server::config::{TlsConfig, TlsMode};
use palisade_smtp_sink::SmtpSink;
use palisade_store::test_support::TestDatabase;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

pub const SITE: &str = "acme";
pub const ORIGIN: &str = "https://acme.example";
pub const OTHER_SITE: &str = "globex";
pub const OTHER_ORIGIN: &str = "https://globex.example";
pub const PASSWORD: &str = "correct horse battery staple";

/// The value of the cookie named `cookie` that `response` sets, if it sets one.
pub fn set_cookie_value(response: &reqwest::Response, cookie: &str) -> Option<String> {
    let prefix = format!("{cookie}=");
    response.headers().get_all("set-cookie").iter().find_map(|value| {
        let set = value.to_str().ok()?.strip_prefix(prefix.as_str())?;
        Some(set.split(';').next().unwrap_or_default().to_owned())
    })
}

pub fn origin_of(site: &str) -> &'static str {
    if site == OTHER_SITE { OTHER_ORIGIN } else { ORIGIN }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// The plain-HTTP redirect listener, when the test turned it on.
    pub redirect_addr: Option<SocketAddr>,
    pub base: String,
    pub http: reqwest::Client,
    pub config: Config,
    /// Every mail the server sent (it is configured to send through this sink).
    pub mail: SmtpSink,
    _db: TestDatabase,
    _data: tempfile::TempDir,
}

pub fn test_config(db: &TestDatabase, data: &std::path::Path, tls: TlsMode) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        metrics_listen: "127.0.0.1:0".into(),
        public_url: "https://chat.test".into(),
        data_dir: data.to_owned(),
        database_url: Some(palisade_server::config::Secret::new(db.url())),
        database_max_connections: 4,
        password_hash_concurrency: 2,
        // Tests sign many people in from one address; the limit has its own test.
        auth_requests_per_minute: std::num::NonZeroU32::new(6000).unwrap(),
        auth_burst: std::num::NonZeroU32::new(1000).unwrap(),
        ws_connects_per_minute: std::num::NonZeroU32::new(6000).unwrap(),
        ws_connect_burst: std::num::NonZeroU32::new(1000).unwrap(),
        ws_sockets_per_address: 10_000,
        connections_per_address: 10_000,
        api_requests_per_minute: std::num::NonZeroU32::new(60000).unwrap(),
        api_burst: std::num::NonZeroU32::new(10000).unwrap(),
        messages_per_minute: std::num::NonZeroU32::new(60000).unwrap(),
        message_burst: std::num::NonZeroU32::new(10000).unwrap(),
        ws_frames_per_minute: std::num::NonZeroU32::new(600_000).unwrap(),
        ws_frame_burst: std::num::NonZeroU32::new(10000).unwrap(),
        widget_dir: data.join("widget"),
        tls: TlsConfig { mode: tls, cert_file: None, key_file: None },
        ..Config::default()
    }
}

/// Adds the two test sites through the same code the CLI uses.
fn add_sites(config: &Config) {
    let store = palisade_store::Store::open(config.database_url().expose(), 1).unwrap();
    for (site, origin) in [(SITE, ORIGIN), (OTHER_SITE, OTHER_ORIGIN)] {
        store
            .with_connection(|c| palisade_store::sites::create(c, &site.parse().unwrap(), site, &[origin.to_owned()]))
            .unwrap();
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TlsMode::None).await
    }

    pub async fn spawn_with(tls: TlsMode) -> Self {
        Self::spawn_configured(|config| config.tls.mode = tls).await
    }

    /// The server with the test configuration as `adjust` changes it.
    pub async fn spawn_configured(adjust: impl FnOnce(&mut Config)) -> Self {
        let db = TestDatabase::create();
        let data = tempfile::tempdir().unwrap();
        let mail = SmtpSink::start().await.unwrap();
        let mut config = test_config(&db, data.path(), TlsMode::None);
        config.smtp_url = Some(palisade_server::config::Secret::new(mail.url()));
        adjust(&mut config);
        add_sites(&config);
        let running = palisade_server::start(&config).unwrap();
        let metrics_addr = running.metrics_addr.unwrap();
        let redirect_addr = running.redirect_addr;
        let scheme = if running.tls { "https" } else { "http" };
        let (addr, base) = (running.addr, format!("{scheme}://{}", running.addr));
        tokio::spawn(running.run());
        let http = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        Self { addr, metrics_addr, redirect_addr, base, http, config, mail, _db: db, _data: data }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A cookie request as the widget makes it on `site`: its allowed origin, the CSRF header,
    /// and `refresh` as the site's refresh cookie.
    pub fn cookie_request(&self, site: &str, path: &str, refresh: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .header("origin", origin_of(site))
            .header(palisade_protocol::auth::CSRF_HEADER, "1")
            .header("cookie", format!("__Host-palisade_refresh_{site}={refresh}"))
            .json(&json!({"site": site}))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http.post(self.url(path)).header("origin", ORIGIN).json(body).send().await.unwrap()
    }

    /// Asks for a sign-up link (`POST /auth/register`) for `email`, as the widget on `site`'s
    /// page does.
    pub async fn ask_sign_up(&self, site: &str, email: &str) -> reqwest::Response {
        let origin = origin_of(site);
        self.http
            .post(self.url("/api/v1/auth/register"))
            .header("origin", origin)
            .json(&json!({"site": site, "email": email, "return_to": format!("{origin}/help")}))
            .send()
            .await
            .unwrap()
    }

    /// The token in the `nth` (1-based) mail to `email`, from its link to `site`'s page with
    /// `fragment` (`SIGN_UP_FRAGMENT` or `RESET_FRAGMENT`); fails the test if that mail does
    /// not come within 10 s or holds no such link.
    pub async fn mailed_token(&self, site: &str, email: &str, nth: usize, fragment: &str) -> String {
        let mail = self.mail.wait_for_mail_to(email, nth).await.unwrap_or_else(|| panic!("no mail {nth} to {email}"));
        let page = format!("{}/help", origin_of(site));
        mail.token(&page, fragment).unwrap_or_else(|| panic!("no {fragment} link in {}", mail.text))
    }

    /// Finishes a sign-up with the token from its link.
    pub async fn complete_sign_up(&self, site: &str, token: &str, name: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/auth/register/complete"))
            .header("origin", origin_of(site))
            .json(&json!({"site": site, "token": token, "display_name": name, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Signs a new person up the whole way (ask, read the mail, finish) and returns the answer
    /// of the last step.
    pub async fn register(&self, site: &str, email: &str, name: &str) -> reqwest::Response {
        let nth = self.mail.mails_to(email).len() + 1;
        let asked = self.ask_sign_up(site, email).await;
        assert_eq!(asked.status(), 202, "{:?}", asked.text().await);
        let token = self.mailed_token(site, email, nth, SIGN_UP_FRAGMENT).await;
        self.complete_sign_up(site, &token, name, PASSWORD).await
    }

    /// Registers a person on the main test site and returns their access token.
    pub async fn token(&self, email: &str, name: &str) -> String {
        self.token_on(SITE, email, name).await
    }

    pub async fn token_on(&self, site: &str, email: &str, name: &str) -> String {
        let response = self.register(site, email, name).await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json::<TokenResponse>().await.unwrap().access_token
    }

    /// Signs an existing person in again (a second session) and returns the access token.
    pub async fn token_signed_in(&self, email: &str) -> String {
        let response =
            self.post_json("/api/v1/auth/login", &json!({"site": SITE, "email": email, "password": PASSWORD})).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        response.json::<TokenResponse>().await.unwrap().access_token
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// A bearer-authenticated request with a JSON body (`Value::Null` sends none).
    pub async fn send_authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if !body.is_null() {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub async fn default_room(&self, token: &str) -> palisade_protocol::RoomId {
        let list: palisade_protocol::rooms::RoomList =
            self.get_authed("/api/v1/rooms", token).await.json().await.unwrap();
        list.rooms[0].id
    }

    pub fn ws_url(&self, site: &str) -> String {
        format!("ws://{}/api/v1/ws?site={site}", self.addr)
    }

    /// Opens a WebSocket with the given Origin (or none).
    pub async fn ws_raw(&self, site: &str, origin: Option<&str>) -> Result<Socket, tungstenite::Error> {
        let mut request = self.ws_url(site).into_client_request().unwrap();
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Socket { stream })
    }

    /// An authenticated socket on the main site, past its `ready` frame.
    pub async fn ws(&self, token: &str) -> Socket {
        self.ws_on(SITE, token).await
    }

    /// An authenticated socket on `site`, from its page, past its `ready` frame.
    pub async fn ws_on(&self, site: &str, token: &str) -> Socket {
        let mut socket = self.ws_raw(site, Some(origin_of(site))).await.unwrap();
        socket.send(&ClientFrame::Auth { access_token: token.to_owned() }).await;
        match socket.recv().await {
            ServerFrame::Ready { .. } => socket,
            other => panic!("expected ready, got {other:?}"),
        }
    }

    /// The Prometheus text the metrics listener serves.
    pub async fn metrics(&self) -> String {
        let response = self.http.get(format!("http://{}/metrics", self.metrics_addr)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The audit events named `event`, newest first, waiting up to 5 s for at least one (the
    /// trail is written in the background).
    pub async fn audit_events(&self, event: &str) -> Vec<palisade_store::audit::AuditRecord> {
        self.audit_events_at_least(event, 1).await
    }

    /// As [`TestApp::audit_events`], waiting for at least `count` of them.
    pub async fn audit_events_at_least(&self, event: &str, count: usize) -> Vec<palisade_store::audit::AuditRecord> {
        let store = palisade_store::Store::open(self.config.database_url().expose(), 1).unwrap();
        let query =
            palisade_store::audit::AuditQuery { event: Some(event.to_owned()), limit: 100, ..Default::default() };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let found = store.with_connection(|c| palisade_store::audit::query(c, &query)).unwrap();
            if found.len() >= count || std::time::Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `palisade-server <args>` against this app's database and data dir; returns whether
    /// it succeeded and what it printed.
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_palisade-server"))
            .args(args)
            .env("PALISADE_DATA_DIR", &self.config.data_dir)
            .env("PALISADE_DATABASE_URL", self.config.database_url().expose())
            .envs(self.config.smtp_url.as_ref().map(|url| ("PALISADE_SMTP_URL", url.expose())))
            .env("PALISADE_LOG", "warn")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }

    pub async fn is_healthy(&self) -> bool {
        self.http.get(self.url("/healthz")).send().await.is_ok_and(|r| r.status() == 200)
    }
}

pub struct Socket {
    pub stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What the server did next on a socket.
#[derive(Debug)]
pub enum Next {
    Frame(ServerFrame),
    Closed(Option<String>),
}

impl Socket {
    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(&serde_json::to_string(frame).unwrap()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// The next frame or close, skipping pings; fails the test after 10 s of silence.
    pub async fn next(&mut self) -> Next {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("the server said nothing for 10 s");
            match message {
                Some(Ok(Message::Text(text))) => return Next::Frame(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(frame))) => return Next::Closed(frame.map(|f| f.reason.to_string())),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Next::Closed(None),
            }
        }
    }

    /// The next frame but presence changes, which arrive whenever someone on the site connects
    /// or leaves and would otherwise interleave with whatever a test waits for.
    pub async fn recv(&mut self) -> ServerFrame {
        loop {
            match self.recv_any().await {
                ServerFrame::Presence { .. } => {}
                frame => return frame,
            }
        }
    }

    /// The next frame, presence changes included.
    pub async fn recv_any(&mut self) -> ServerFrame {
        match self.next().await {
            Next::Frame(frame) => frame,
            Next::Closed(reason) => panic!("socket closed: {reason:?}"),
        }
    }
}

/// A TOTP secret from the base32 text enrolment shows.
pub fn totp_secret(base32: &str) -> palisade_auth::totp::TotpSecret {
    palisade_auth::totp::TotpSecret::from_base32(base32).unwrap()
}

/// The current TOTP time step.
pub fn totp_step_now() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    now / palisade_auth::totp::STEP_SECS
}

/// Someone signed in on a site, as the role tests need them.
pub struct Person {
    pub token: String,
    pub id: palisade_protocol::UserId,
}

/// Signs a new person up on `site` and, when `role` is given, makes them that and signs them
/// in again so their session carries it.
pub async fn person(app: &TestApp, site: &str, name: &str, role: Option<&str>) -> Person {
    let email = format!("{}@example.org", name.to_lowercase());
    let mut token = app.token_on(site, &email, name).await;
    if let Some(role) = role {
        let (ok, out) = app.cli(&["user", "role", "--role", role, "--site", site, "--email", &email]);
        assert!(ok, "{out}");
        token = app.token_signed_in(&email).await;
    }
    let general = app.default_room(&token).await;
    let members: palisade_protocol::rooms::MemberList =
        app.get_authed(&format!("/api/v1/rooms/{general}/members"), &token).await.json().await.unwrap();
    let id = members.members.iter().find(|m| m.user.display_name == name).expect("a new person is in General").user.id;
    Person { token, id }
}

/// The test site without its default second-factor requirement for staff, so people given a
/// staff role can act at once.
pub async fn app_without_staff_mfa() -> TestApp {
    let app = TestApp::spawn().await;
    let (ok, out) = app.cli(&["site", "mfa-policy", SITE, "--roles"]);
    assert!(ok, "{out}");
    app
}

pub async fn call(app: &TestApp, who: &Person, method: reqwest::Method, path: &str, body: Value) -> reqwest::Response {
    app.send_authed(method, &format!("/api/v1{path}"), &who.token, &body).await
}
