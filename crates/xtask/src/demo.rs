//! `cargo xtask demo`: the release widget, the chat server on embedded SQLite in ./data, and
//! the demo host page on an origin of its own. Ctrl-C stops both.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::Child;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cmd::Cmd;
use crate::{demo_mail, host_page, paths, setup, widget_build, widget_pin};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The chat server's port (https).
    pub port: u16,
    /// The demo host page's port (http).
    pub demo_port: u16,
}

impl Default for Options {
    fn default() -> Self {
        Self { port: 8443, demo_port: 8444 }
    }
}

/// How long the server may take to accept connections (first run: migrations, keys, cert).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to stop after being asked before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The running chat server; stopped (and, if need be, killed) when dropped, so no path out of
/// `demo` leaves it running.
struct Server {
    child: Child,
}

impl Server {
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Ctrl-C in a terminal already sent SIGINT to the whole process group; this covers
        // SIGTERM/SIGHUP to xtask alone and error paths.
        let _ = Cmd::new("kill").args(["-INT", &self.child.id().to_string()]).probe();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        println!("the chat server did not stop within {STOP_TIMEOUT:?}; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn port_in_use(port: u16) -> bool {
    TcpStream::connect_timeout(&loopback(port), Duration::from_millis(300)).is_ok()
}

/// Creates `dir` with mode 0700, or tightens an existing one to 0700 (it holds keys).
fn ensure_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        let mode = fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            println!("{}: tightening permissions to 0700", dir.display());
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("chmod 0700 {}", dir.display()))?;
        }
    } else {
        fs::DirBuilder::new().mode(0o700).create(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// The host page listens on both loopback addresses, since browsers may resolve `localhost`
/// to either; IPv4 is required, IPv6 is taken when available.
fn bind_host_page(port: u16) -> Result<Vec<TcpListener>> {
    let v4 = TcpListener::bind(loopback(port))
        .with_context(|| format!("the demo page port 127.0.0.1:{port} (in use? try --demo-port)"))?;
    let mut listeners = vec![v4];
    if let Ok(v6) = TcpListener::bind(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port))) {
        listeners.push(v6);
    }
    Ok(listeners)
}

fn wait_until_listening(server: &mut Server, port: u16) -> Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(status) = server.child.try_wait().context("waiting for the chat server")? {
            bail!("the chat server exited ({status}) before accepting connections; its log is above");
        }
        if TcpStream::connect_timeout(&loopback(port), Duration::from_millis(300)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the chat server did not accept connections on port {port} within {STARTUP_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn server_command(binary: &Path, options: Options, data_dir: &Path, dist: &Path, smtp_url: &str) -> Cmd {
    Cmd::new(binary)
        .env("PALISADE_SMTP_URL", smtp_url)
        .env("PALISADE_MAIL_FROM", "Palisade demo <chat@localhost>")
        .env("PALISADE_DATA_DIR", data_dir)
        .env("PALISADE_LISTEN", format!("127.0.0.1:{}", options.port))
        .env("PALISADE_PUBLIC_URL", format!("https://localhost:{}", options.port))
        .env("PALISADE_WIDGET_DIR", dist)
}

pub fn run(options: Options) -> Result<()> {
    let started = Instant::now();
    if options.port == options.demo_port {
        bail!("--port and --demo-port must differ");
    }
    setup::run(setup::Options::DEMO)?;
    let dist = widget_build::ensure_release_build()?;
    Cmd::new("cargo").args(["build", "-p", "palisade-server"]).run()?;
    let binary = paths::target_dir().join("debug").join("palisade-server");
    let data_dir = paths::root().join(paths::DATA_DIR);
    ensure_private_dir(&data_dir)?;
    let chat_origin = format!("https://localhost:{}", options.port);
    let demo_origin = format!("http://localhost:{}", options.demo_port);

    if port_in_use(options.port) {
        bail!("something already listens on port {} (another demo?); stop it or pass --port", options.port);
    }
    let listeners = bind_host_page(options.demo_port)?;
    let loader_integrity = widget_pin::loader_integrity(&dist)?;
    let site = host_page::Site::new(&paths::root().join(paths::DEMO_DIR), &chat_origin, &loader_integrity)?;

    let smtp_url = demo_mail::start()?;
    server_command(&binary, options, &data_dir, &dist, &smtp_url)
        .args(["site", "add", "demo", "--name", "Palisade demo"])
        .args(["--origin", &demo_origin, "--if-exists", "update"])
        .run()?;

    // From here on Ctrl-C must reach the loop below so that the server is stopped.
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing signal handlers")?;
    let mut server =
        Server { child: server_command(&binary, options, &data_dir, &dist, &smtp_url).arg("serve").spawn()? };
    wait_until_listening(&mut server, options.port)?;
    for listener in listeners {
        let site = site.clone();
        std::thread::spawn(move || host_page::serve(listener, site));
    }

    println!();
    println!("Palisade demo is running (ready in {:.1} s).", started.elapsed().as_secs_f64());
    println!("  Demo host page:  {demo_origin}/");
    println!("  Chat server:     {chat_origin}/");
    println!(
        "  The chat server uses a self-signed certificate: once per browser, open\n  \
         {chat_origin}/healthz and accept it, then reload the demo page."
    );
    println!("  Embed it in a page of an allowed origin with:");
    println!(
        "    <script src=\"{chat_origin}/widget/palisade.js\" data-site=\"demo\" async\n            \
         integrity=\"{loader_integrity}\" crossorigin=\"anonymous\"></script>"
    );
    println!("  Data (SQLite database, keys, TLS certificate): {}", data_dir.display());
    println!("  Mail the chat sends (sign-up and password-reset links) is printed here.");
    println!("  Ctrl-C to stop.");
    println!();

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _ = tx.send(signal);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(signal) => {
                println!("\nstopping (signal {signal})");
                server.stop();
                println!("stopped");
                return Ok(());
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(status) = server.child.try_wait().context("watching the chat server")? {
                    bail!("the chat server exited ({status}); its log is above");
                }
            }
            Err(RecvTimeoutError::Disconnected) => bail!("lost the signal handler"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_used_port() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(port_in_use(port));
    }

    #[test]
    fn data_dir_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;

        let created = dir.path().join("data");
        ensure_private_dir(&created).unwrap();
        assert_eq!(mode(&created), 0o700);

        let loose = dir.path().join("loose");
        fs::create_dir(&loose).unwrap();
        fs::set_permissions(&loose, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&loose).unwrap();
        assert_eq!(mode(&loose), 0o700);
    }
}
