//! A real OpenID provider for the browser tests: oauth2-mock-server from npm, started by the
//! same script the server's integration tests use (`server/tests/oauth_provider.mjs`), so
//! there is one provider and one set of misbehaviour switches. Its authorize endpoint
//! redirects straight back with a code, so a popup needs no interaction.

use std::process::Stdio;

use palisade_auth::oauth::ProviderKind;
use palisade_server::config::Secret;
use palisade_server::oauth::settings::ProviderConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::{HarnessError, repo_root};

/// The provider's id in the configuration: `/api/v1/auth/oauth/mock/…`.
pub const PROVIDER_ID: &str = "mock";
/// The button's text.
pub const PROVIDER_LABEL: &str = "Mock ID";

/// The provider process; stopped when dropped (the script also exits when stdin closes).
pub struct MockProvider {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    issuer: String,
}

impl std::fmt::Debug for MockProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockProvider").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

fn broken(what: &str) -> HarnessError {
    HarnessError::Environment(format!("the mock OpenID provider {what}"))
}

impl MockProvider {
    /// Needs `node` and the workspace's npm packages (`npm ci`). Must be called within a Tokio
    /// runtime.
    pub async fn start() -> Result<Self, HarnessError> {
        let script = repo_root().join("server").join("tests").join("oauth_provider.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| HarnessError::Environment(format!("cannot run node {}: {e}", script.display())))?;
        let stdin = child.stdin.take().ok_or_else(|| broken("has no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| broken("has no stdout"))?;
        let mut provider = Self { _child: child, stdin, stdout: BufReader::new(stdout).lines(), issuer: String::new() };
        let ready = provider.answer().await?;
        provider.issuer =
            ready.get("issuer").and_then(Value::as_str).ok_or_else(|| broken("did not name its issuer"))?.to_owned();
        Ok(provider)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    async fn answer(&mut self) -> Result<Value, HarnessError> {
        let line = self.stdout.next_line().await?.ok_or_else(|| broken("exited (is `npm ci` done?)"))?;
        serde_json::from_str(&line).map_err(|_| broken(&format!("said {line:?}")))
    }

    /// How the next redirects and ID tokens look, replacing the last mode: e.g.
    /// `{"authorize_error": "access_denied"}`; `{}` is a well-behaved provider. The keys are
    /// listed at the top of `oauth_provider.mjs`.
    pub async fn mode(&mut self, mode: Value) -> Result<(), HarnessError> {
        let command = json!({"cmd": "mode", "mode": mode});
        self.stdin.write_all(format!("{command}\n").as_bytes()).await?;
        let answer = self.answer().await?;
        if answer.get("ok") == Some(&Value::Bool(true)) {
            Ok(())
        } else {
            Err(broken(&format!("refused {command}: {answer}")))
        }
    }

    /// Offers this provider on every site (so on `demo`) as [`PROVIDER_ID`]. For
    /// [`crate::Stack::start_with`].
    pub fn configure(&self, config: &mut palisade_server::Config) {
        config.oauth.providers.insert(
            PROVIDER_ID.into(),
            ProviderConfig {
                kind: ProviderKind::Oidc,
                label: Some(PROVIDER_LABEL.into()),
                issuer: Some(self.issuer.clone()),
                client_id: "palisade-e2e".into(),
                client_secret: Some(Secret::new("not-so-secret")),
                client_secret_file: None,
                scopes: Vec::new(),
                sites: Vec::new(),
            },
        );
    }
}
