//! `palisade-server serve` as its own process, for tests that stop it the way an operator or a
//! crash would (SIGTERM, kill -9) or read everything it logs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::TestApp;

/// The child process, its stdout and stderr going to files; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl ServerProcess {
    /// Starts the binary on port 0 with `app`'s database, data dir (so its keys) and mail sink,
    /// logging at `log_level` as JSON lines (which must let its `listening on` line through:
    /// `palisade_server::cli=info` or more); reads the bound address from that
    /// line and points `app`'s clients at it. Output goes to new files in `logs`.
    pub async fn start(app: &mut TestApp, logs: &Path, log_level: &str) -> Self {
        Self::start_with(app, logs, log_level, &[]).await
    }

    /// [`ServerProcess::start`] with more `PALISADE_*` variables, which win over the defaults
    /// (`PALISADE_TLS__MODE=files`, say; the address is then `https`).
    pub async fn start_with(app: &mut TestApp, logs: &Path, log_level: &str, env: &[(&str, &str)]) -> Self {
        let run = Uuid::new_v4().simple();
        let (stdout, stderr) = (logs.join(format!("{run}.stdout")), logs.join(format!("{run}.stderr")));
        // The limits are the server's business in other tests; these drive it hard on purpose.
        let limit = "1000000";
        let child = Command::new(env!("CARGO_BIN_EXE_palisade-server"))
            .arg("serve")
            // No palisade.toml here: the configuration is exactly these variables.
            .current_dir(&app.config.data_dir)
            .env("PALISADE_LISTEN", "127.0.0.1:0")
            .env("PALISADE_METRICS_LISTEN", "")
            .env("PALISADE_PUBLIC_URL", &app.config.public_url)
            .env("PALISADE_TLS__MODE", "none")
            .env("PALISADE_DATA_DIR", &app.config.data_dir)
            .env("PALISADE_DATABASE_URL", app.config.database_url().expose())
            .env("PALISADE_SMTP_URL", app.mail.url())
            .env("PALISADE_WIDGET_DIR", &app.config.widget_dir)
            .env("PALISADE_AUTH_REQUESTS_PER_MINUTE", limit)
            .env("PALISADE_AUTH_BURST", limit)
            .env("PALISADE_WS_CONNECTS_PER_MINUTE", limit)
            .env("PALISADE_WS_CONNECT_BURST", limit)
            .env("PALISADE_WS_SOCKETS_PER_ADDRESS", limit)
            .env("PALISADE_CONNECTIONS_PER_ADDRESS", limit)
            .env("PALISADE_MESSAGES_PER_MINUTE", limit)
            .env("PALISADE_MESSAGE_BURST", limit)
            .env("PALISADE_WS_FRAMES_PER_MINUTE", limit)
            .env("PALISADE_WS_FRAME_BURST", limit)
            .env("PALISADE_API_REQUESTS_PER_MINUTE", limit)
            .env("PALISADE_API_BURST", limit)
            .env("PALISADE_LOG", log_level)
            .env("PALISADE_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut server = Self { child, stdout, stderr };
        let deadline = Instant::now() + Duration::from_secs(30);
        let (scheme, addr) = loop {
            if let Some(found) = listening_addr(&server.output()) {
                break found;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the server exited with {status}: {}", server.tail());
            }
            assert!(Instant::now() < deadline, "the server did not come up: {}", server.tail());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        app.addr = addr;
        app.base = format!("{scheme}://{addr}");
        assert!(app.is_healthy().await, "the server said it listens but does not answer");
        server
    }

    /// Everything the process wrote so far, stdout then stderr.
    pub fn output(&self) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        format!("{}{}", read(&self.stdout), read(&self.stderr))
    }

    /// The last 2000 characters of [`ServerProcess::output`], for failure messages.
    pub fn tail(&self) -> String {
        let text = self.output();
        let start = text.char_indices().rev().nth(2000).map_or(0, |(i, _)| i);
        text[start..].to_owned()
    }

    /// SIGTERM, as a service manager stops a server; returns how the process ended.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not stop on SIGTERM: {}", self.tail());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGHUP, as an operator (or certbot's deploy hook) asks for the certificate to be reread.
    pub fn hang_up(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    }

    /// `kill -9`: no shutdown hook, no flush, no goodbye to the clients.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "the server had already stopped: {}", self.tail());
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scheme and address in the server's `listening on http(s)://…` line, once it is there.
fn listening_addr(log: &str) -> Option<(&'static str, SocketAddr)> {
    let start = log.find("listening on http")? + "listening on ".len();
    let (scheme, rest) = match &log[start..] {
        rest if rest.starts_with("https://") => ("https", &rest["https://".len()..]),
        rest => ("http", rest.strip_prefix("http://")?),
    };
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':')).unwrap_or(rest.len());
    Some((scheme, rest[..end].parse().ok()?))
}
