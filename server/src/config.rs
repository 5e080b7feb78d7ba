//! Layered configuration: built-in defaults < `palisade.toml` < `PALISADE_*` environment.
//!
//! Every secret can also come from a file named by `PALISADE_<NAME>_FILE`, so secrets can be
//! mounted (Docker/Kubernetes secrets, systemd credentials) instead of living in the
//! environment, where child processes and crash reports can see them.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("cannot read the secret file {path}: {source}")]
    SecretFile { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Value(String),
}

/// How the server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// A certificate for localhost generated into the data directory on first run (development).
    SelfSigned,
    /// `tls.cert_file` and `tls.key_file` (PEM).
    Files,
    /// Plain HTTP, for running behind a TLS-terminating proxy on a private network.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub mode: TlsMode,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8443`; port 0 picks a free one.
    pub listen: String,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` is believed. A request
    /// from anyone else is judged by its own address, whatever headers it sends.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Plain-HTTP address of the Prometheus `/metrics` listener; keep it on loopback or a
    /// private network. Empty turns it off.
    pub metrics_listen: String,
    /// Plain-HTTP address (e.g. `0.0.0.0:80`) that only redirects to `public_url`. Empty turns
    /// it off; pointless behind a TLS-terminating proxy.
    pub http_redirect_listen: String,
    /// The URL people reach the server at; the access-token issuer.
    pub public_url: String,
    /// Where the SQLite database, generated keys and the development certificate live.
    pub data_dir: PathBuf,
    /// A SQLite path or a `postgres://` URL; default `<data_dir>/palisade.db`.
    pub database_url: Option<Secret>,
    pub database_url_file: Option<PathBuf>,
    pub database_max_connections: u32,
    /// The access-token signing key (64 hex characters); default: generated into the data dir.
    pub access_token_key_file: Option<PathBuf>,
    pub access_token_ttl_secs: u64,
    /// During a signing-key rotation: the key signing has moved away from, whose tokens are
    /// still accepted until they expire (at most `access_token_ttl_secs`). Never signs.
    pub access_token_previous_key_file: Option<PathBuf>,
    /// The key-encryption key (64 hex characters, mode 0600 or 0400). Default: created in
    /// `<data_dir>/keys/kek.key` on first run. A configured file is never created.
    pub kek_file: Option<PathBuf>,
    /// The key of the email blind index; same rules as `kek_file`.
    pub blind_index_key_file: Option<PathBuf>,
    /// Password hashes computed at once; each takes ~19 MiB while it runs.
    pub password_hash_concurrency: usize,
    /// Sign-in, registration, refresh and password-change requests allowed per client address
    /// and minute, on average…
    pub auth_requests_per_minute: std::num::NonZeroU32,
    /// …and at once.
    pub auth_burst: std::num::NonZeroU32,
    /// WebSocket handshakes per client address and minute, and at once.
    pub ws_connects_per_minute: std::num::NonZeroU32,
    pub ws_connect_burst: std::num::NonZeroU32,
    /// WebSockets open at once per client address (IPv6: per /64).
    pub ws_sockets_per_address: usize,
    /// Connections (of any kind) open at once per client address (IPv6: per /64); not counted
    /// for trusted proxies, whose connections carry many clients.
    pub connections_per_address: usize,
    /// Messages one account may send per minute, and at once (over: an `error` frame naming
    /// the message, which the client retries later).
    pub messages_per_minute: std::num::NonZeroU32,
    pub message_burst: std::num::NonZeroU32,
    /// Frames of any kind one WebSocket may send per minute, and at once: subscribing replays
    /// history from the database, so a connection must not be able to ask for it without end.
    /// The burst covers a widget subscribing to all its rooms on connect.
    pub ws_frames_per_minute: std::num::NonZeroU32,
    pub ws_frame_burst: std::num::NonZeroU32,
    /// Authenticated REST requests (room lists, history, sessions, MFA status…) one account
    /// may make per minute, and at once: reads cost database work, and a stolen token should
    /// not be able to page through everything at full speed.
    pub api_requests_per_minute: std::num::NonZeroU32,
    pub api_burst: std::num::NonZeroU32,
    /// Where password-reset mail goes out: `smtp://host:25`, `smtp://host:587?tls=required`
    /// or `smtps://user:password@host:465`. Unset: password reset by email is off (503).
    pub smtp_url: Option<Secret>,
    pub smtp_url_file: Option<PathBuf>,
    /// The From of outgoing mail.
    pub mail_from: String,
    /// The Trunk dist directory served under `/widget/`.
    pub widget_dir: PathBuf,
    pub tls: TlsConfig,
    /// Sign-in providers: `[oauth.providers.<id>]` tables.
    pub oauth: crate::oauth::OAuthConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".into(),
            metrics_listen: "127.0.0.1:9464".into(),
            http_redirect_listen: String::new(),
            trusted_proxies: Vec::new(),
            public_url: "https://localhost:8443".into(),
            data_dir: "data".into(),
            database_url: None,
            database_url_file: None,
            database_max_connections: 16,
            access_token_key_file: None,
            access_token_ttl_secs: 600,
            access_token_previous_key_file: None,
            kek_file: None,
            blind_index_key_file: None,
            // One core stays free for message delivery. On 2 cores under a sign-in flood
            // (palisade-load, 3 runs each): 2 hashes at once gave 150 sign-ins/s and a delivery
            // p99 of 12-16 ms; 1 gave 110/s and 10-11 ms (quiet: 2-3 ms).
            password_hash_concurrency: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1).max(1)),
            auth_requests_per_minute: std::num::NonZeroU32::MIN.saturating_add(29),
            auth_burst: std::num::NonZeroU32::MIN.saturating_add(9),
            ws_connects_per_minute: std::num::NonZeroU32::MIN.saturating_add(59),
            ws_connect_burst: std::num::NonZeroU32::MIN.saturating_add(19),
            ws_sockets_per_address: 256,
            connections_per_address: 512,
            messages_per_minute: std::num::NonZeroU32::MIN.saturating_add(119),
            message_burst: std::num::NonZeroU32::MIN.saturating_add(29),
            ws_frames_per_minute: std::num::NonZeroU32::MIN.saturating_add(1199),
            ws_frame_burst: std::num::NonZeroU32::MIN.saturating_add(199),
            api_requests_per_minute: std::num::NonZeroU32::MIN.saturating_add(599),
            api_burst: std::num::NonZeroU32::MIN.saturating_add(119),
            smtp_url: None,
            smtp_url_file: None,
            mail_from: "Palisade <no-reply@localhost>".into(),
            widget_dir: "widget-app/dist".into(),
            tls: TlsConfig { mode: TlsMode::SelfSigned, cert_file: None, key_file: None },
            oauth: crate::oauth::OAuthConfig::default(),
        }
    }
}

fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    std::fs::read_to_string(path)
        .map(|s| Secret::new(s.trim_end_matches(['\n', '\r'])))
        .map_err(|source| ConfigError::SecretFile { path: path.to_owned(), source })
}

impl Config {
    /// Loads the layers. `file` is read if it exists; a missing default file is not an error.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let default_file = Path::new("palisade.toml");
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::Value(format!("config file {} does not exist", path.display())));
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file(default_file)),
        }
        // Unknown keys are errors (a typo must not silently fall back to a default), except the
        // variables that belong to the CLI and to the test harnesses.
        let env = Env::prefixed("PALISADE_")
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                !matches!(key.as_str(), "config" | "log" | "log_format")
                    && !key.starts_with("test_")
                    && !key.starts_with("e2e_")
            })
            .split("__");
        let config: Self = figment.merge(env).extract().map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        config.resolved()
    }

    fn resolved(mut self) -> Result<Self, ConfigError> {
        if let Some(path) = &self.database_url_file {
            if self.database_url.is_some() {
                return Err(ConfigError::Value("set database_url or database_url_file, not both".into()));
            }
            self.database_url = Some(read_secret_file(path)?);
        }
        if let Some(path) = &self.smtp_url_file {
            if self.smtp_url.is_some() {
                return Err(ConfigError::Value("set smtp_url or smtp_url_file, not both".into()));
            }
            self.smtp_url = Some(read_secret_file(path)?);
        }
        self.oauth.resolve()?;
        if self.access_token_ttl_secs == 0 || self.access_token_ttl_secs > 3600 {
            return Err(ConfigError::Value("access_token_ttl_secs must be between 1 and 3600".into()));
        }
        if self.tls.mode == TlsMode::Files && (self.tls.cert_file.is_none() || self.tls.key_file.is_none()) {
            return Err(ConfigError::Value("tls.mode = \"files\" needs tls.cert_file and tls.key_file".into()));
        }
        Ok(self)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> Secret {
        self.database_url
            .clone()
            .unwrap_or_else(|| Secret::new(self.data_dir.join("palisade.db").to_string_lossy().into_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type.
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_come_from_files() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "listen = \"0.0.0.0:9000\"\npublic_url = \"https://chat.example\"")?;
            jail.create_file("db-url", "postgres://u:pw@db/palisade\n")?;
            jail.set_env("PALISADE_PUBLIC_URL", "https://env.example");
            jail.set_env("PALISADE_DATABASE_URL_FILE", "db-url");
            jail.set_env("PALISADE_TLS__MODE", "none");
            let config = Config::load(Some(Path::new("custom.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.listen, "0.0.0.0:9000");
            assert_eq!(config.public_url, "https://env.example");
            assert_eq!(config.tls.mode, TlsMode::None);
            assert_eq!(config.database_url().expose(), "postgres://u:pw@db/palisade");
            assert!(!format!("{config:?}").contains("pw@db"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_conflicting_secrets_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("palisade.toml", "lisen = \"typo\"")?;
            assert!(Config::load(None).is_err());
            jail.create_file("palisade.toml", "")?;
            jail.create_file("db", "x")?;
            jail.set_env("PALISADE_DATABASE_URL", "y");
            jail.set_env("PALISADE_DATABASE_URL_FILE", "db");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn defaults_put_everything_under_the_data_dir() {
        figment::Jail::expect_with(|_| {
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.database_url().expose(), "data/palisade.db");
            assert_eq!(config.tls.mode, TlsMode::SelfSigned);
            Ok(())
        });
    }
}
