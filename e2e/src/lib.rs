//! The end-to-end harness: the real server (TLS, release widget), the demo host page served
//! from another origin, and Chromium driven over WebDriver.
//!
//! Required environment: `PALISADE_E2E_WIDGET_DIR` (the release Trunk dist), and optionally
//! `CHROMEDRIVER` / `CHROMIUM` (default `/usr/bin/chromedriver`, `/usr/bin/chromium`).
//! `cargo xtask test` sets them after building the widget.

mod browser;
mod host_page;
mod oauth_provider;
mod relay;

pub use browser::{Browser, BrowserError, Driver, testid};
pub use oauth_provider::{MockProvider, PROVIDER_ID, PROVIDER_LABEL};
pub use palisade_smtp_sink::{Mail, SmtpSink};
use relay::Relay;

use std::path::PathBuf;
use std::time::Duration;

use palisade_server::config::{Secret, TlsConfig, TlsMode};
use palisade_store::test_support::TestDatabase;

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{0}")]
    Environment(String),
    #[error("server: {0}")]
    Server(#[from] palisade_server::app::StartError),
    #[error("store: {0}")]
    Store(#[from] palisade_store::StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

/// A running chat server and a host page on another origin that embeds its widget.
pub struct Stack {
    /// The chat server's origin, e.g. `https://localhost:40123`: the port is a [`Relay`]'s in
    /// front of the server, so that [`Stack::cut_network`] can cut the browsers off.
    pub chat_origin: String,
    /// The host page, e.g. `http://localhost:40124/`.
    pub host_page_url: String,
    /// Every mail the server sent (sign-up and reset links).
    pub mail: SmtpSink,
    relay: Relay,
    _db: TestDatabase,
    _data: tempfile::TempDir,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("chat_origin", &self.chat_origin)
            .field("host_page_url", &self.host_page_url)
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where tests leave what people look at afterwards (figures, screenshots):
/// `$PALISADE_E2E_ARTIFACTS`, or `target/e2e-artifacts` in the workspace. Created if missing.
pub fn artifacts_dir() -> Result<PathBuf, HarnessError> {
    let dir = std::env::var_os("PALISADE_E2E_ARTIFACTS")
        .map_or_else(|| repo_root().join("target").join("e2e-artifacts"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn widget_dir() -> Result<PathBuf, HarnessError> {
    let dir = std::env::var_os("PALISADE_E2E_WIDGET_DIR").map(PathBuf::from).ok_or_else(|| {
        HarnessError::Environment(
            "PALISADE_E2E_WIDGET_DIR is not set: build the widget with `cargo xtask test` (or `trunk build --release`) \
             and point it at the dist directory"
                .into(),
        )
    })?;
    if !dir.join("palisade.js").is_file() {
        return Err(HarnessError::Environment(format!("{} holds no built widget (palisade.js)", dir.display())));
    }
    Ok(dir)
}

/// The loader's hash as the release build published it, so the host page pins it as a site
/// owner's page would.
fn loader_integrity(widget_dir: &std::path::Path) -> Result<String, HarnessError> {
    let path = widget_dir.join("integrity.json");
    let unpinned = || {
        HarnessError::Environment(format!(
            "{} is missing or names no hash for palisade.js: build the widget with `cargo xtask test`, which pins it",
            path.display()
        ))
    };
    let text = std::fs::read_to_string(&path).map_err(|_| unpinned())?;
    let published: serde_json::Value = serde_json::from_str(&text).map_err(|_| unpinned())?;
    published.get("palisade.js").and_then(serde_json::Value::as_str).map(str::to_owned).ok_or_else(unpinned)
}

impl Stack {
    /// Starts the server with site `demo` allowing exactly the host page's origin.
    /// Must be called within a Tokio runtime.
    pub async fn start() -> Result<Self, HarnessError> {
        Self::start_with(|_| {}).await
    }

    /// [`Stack::start`], with the server's configuration adjusted by `configure` first (a short
    /// access-token lifetime, say).
    pub async fn start_with(configure: impl FnOnce(&mut palisade_server::Config)) -> Result<Self, HarnessError> {
        let widget_dir = widget_dir()?;
        let integrity = loader_integrity(&widget_dir)?;
        let host = std::net::TcpListener::bind("127.0.0.1:0")?;
        let host_origin = format!("http://localhost:{}", host.local_addr()?.port());

        let db = TestDatabase::create();
        let data = tempfile::tempdir()?;
        let mail = SmtpSink::start().await?;
        // Bound before the server starts, so the server's public URL can be the origin the
        // browser really uses: OAuth redirect URIs are built from it and compared exactly.
        let relay_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let chat_origin = format!("https://localhost:{}", relay_listener.local_addr()?.port());
        let mut config = palisade_server::Config {
            listen: "127.0.0.1:0".into(),
            metrics_listen: String::new(),
            public_url: chat_origin.clone(),
            data_dir: data.path().to_owned(),
            database_url: Some(Secret::new(db.url())),
            widget_dir,
            tls: TlsConfig { mode: TlsMode::SelfSigned, cert_file: None, key_file: None },
            smtp_url: Some(Secret::new(mail.url())),
            mail_from: "Palisade demo <chat@demo.example>".into(),
            ..palisade_server::Config::default()
        };
        configure(&mut config);
        let store = palisade_store::Store::open(config.database_url().expose(), 1)?;
        let demo = "demo".parse().map_err(|e| HarnessError::Environment(format!("{e}")))?;
        store.with_connection(|c| {
            palisade_store::sites::create(c, &demo, "Palisade demo", std::slice::from_ref(&host_origin))
        })?;
        drop(store);

        let running = palisade_server::start(&config)?;
        // The browser accepts the self-signed certificate whatever the port (see
        // `Driver::browser`), so TLS goes through the relay untouched.
        let relay = Relay::start(relay_listener, running.addr)?;
        tokio::spawn(running.run());
        let page = host_page::serve(host, repo_root().join("widget-app").join("demo"), chat_origin.clone(), integrity)?;
        tokio::spawn(page);
        Ok(Self { chat_origin, host_page_url: format!("{host_origin}/"), mail, relay, _db: db, _data: data })
    }

    /// Cuts every browser off the chat server, as a dropped network would: every connection
    /// open to it is reset, and for `hold` every new one is reset as soon as it is accepted;
    /// then connections go through again. Returns once the open ones are closed, with how
    /// many there were.
    pub async fn cut_network(&self, hold: Duration) -> usize {
        self.relay.cut(hold).await
    }

    /// Sets which roles of site `demo` must use a second factor, as
    /// `palisade-server site mfa-policy demo --roles …` would.
    pub fn require_mfa_of(&self, roles: &[palisade_protocol::roles::Role]) -> Result<(), HarnessError> {
        let store = palisade_store::Store::open(self._db.url(), 1)?;
        let demo = "demo".parse().map_err(|e| HarnessError::Environment(format!("{e}")))?;
        store.with_connection(|c| palisade_store::sites::set_mfa_required_roles(c, &demo, roles))?;
        Ok(())
    }

    /// Gives the account with `email` on site `demo` a role, as
    /// `palisade-server user role --role … --site demo --email …` would: accounts are found by
    /// the blind index of their email, under the key the server created in its data directory.
    /// The server reads roles per request, and a WebSocket once as it opens.
    pub fn set_role(&self, email: &str, role: palisade_protocol::roles::Role) -> Result<(), HarnessError> {
        let key_file = self._data.path().join("keys").join("blind-index.key");
        let key = palisade_vault::BlindIndexKey::load(&key_file)
            .map_err(|e| HarnessError::Environment(format!("{}: {e}", key_file.display())))?;
        let store = palisade_store::Store::open(self._db.url(), 1)?;
        let demo = "demo".parse().map_err(|e| HarnessError::Environment(format!("{e}")))?;
        let site = store
            .with_connection(|c| palisade_store::sites::find_by_public_id(c, &demo))?
            .ok_or_else(|| HarnessError::Environment("there is no site demo".into()))?;
        let index = key.email(&site.id.to_string(), email).to_hex();
        store
            .with_connection(|c| palisade_store::users::set_role(c, &site.id, &index, role))?
            .map(drop)
            .ok_or_else(|| HarnessError::Environment(format!("site demo has no account {email}")))
    }
}
