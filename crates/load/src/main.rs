//! `palisade-load --server-bin PATH`: starts that server on a fresh SQLite database, then
//! measures message delivery (send to receive, through the server) for a while alone and for a
//! while under a flood of password sign-ins, and prints sign-ins per second and latency
//! percentiles for both. The server runs as its own process so the figures are the server's,
//! not this tool's. With `--enumeration-probe N` it measures instead whether response times
//! tell existing accounts from unknown emails (see `enumeration`); with `--clients N` it
//! measures fan-out over many connections and rooms instead (see `fanout`).

mod enumeration;
mod fanout;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use palisade_protocol::auth::SIGN_UP_FRAGMENT;
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, RoomId};
use palisade_smtp_sink::SmtpSink;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SITE: &str = "load";
const ORIGIN: &str = "https://load.example";
const PASSWORD: &str = "correct horse battery staple";
const MESSAGES_PER_SEC: u64 = 20;

struct Options {
    server_bin: PathBuf,
    phase: Duration,
    flood_workers: usize,
    hash_concurrency: Option<usize>,
    enumeration_probe: Option<usize>,
    fanout: fanout::Plan,
}

fn options() -> Result<Options> {
    let mut options = Options {
        server_bin: PathBuf::new(),
        phase: Duration::from_secs(10),
        flood_workers: 32,
        hash_concurrency: None,
        enumeration_probe: None,
        fanout: fanout::Plan::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server-bin" => options.server_bin = value.into(),
            "--seconds" => options.phase = Duration::from_secs(value.parse()?),
            "--flood-workers" => options.flood_workers = value.parse()?,
            "--hash-concurrency" => options.hash_concurrency = Some(value.parse()?),
            "--enumeration-probe" => options.enumeration_probe = Some(value.parse()?),
            "--clients" => options.fanout.clients = value.parse()?,
            "--rooms" => options.fanout.rooms = value.parse()?,
            "--rate" => options.fanout.rate = value.parse()?,
            "--idle" => options.fanout.idle = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if options.server_bin.as_os_str().is_empty() {
        bail!(
            "usage: palisade-load --server-bin PATH [--seconds 10] [--flood-workers 32] [--hash-concurrency N] \
             [--enumeration-probe N] [--clients N --rooms M --rate MSGS_PER_SEC --idle N]"
        );
    }
    Ok(options)
}

struct Server {
    /// The running `serve` process; `None` only while setting up.
    child: Option<Child>,
    base: String,
    /// Where the server's mail (the sign-up links) goes.
    mail: SmtpSink,
    bin: PathBuf,
    port: u16,
    hash_concurrency: Option<usize>,
    data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// `palisade-server <args>` against this server's data and database, configured like it.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env("PALISADE_DATA_DIR", self.data.path())
            .env("PALISADE_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("PALISADE_METRICS_LISTEN", "")
            .env("PALISADE_TLS__MODE", "none")
            .env("PALISADE_SMTP_URL", self.mail.url())
            // All the load comes from one address; per-address and per-account limits would
            // measure themselves, not the server.
            .env("PALISADE_AUTH_REQUESTS_PER_MINUTE", "1000000")
            .env("PALISADE_AUTH_BURST", "100000")
            .env("PALISADE_MESSAGES_PER_MINUTE", "1000000")
            .env("PALISADE_MESSAGE_BURST", "100000")
            .env("PALISADE_WS_FRAMES_PER_MINUTE", "1000000")
            .env("PALISADE_WS_FRAME_BURST", "100000")
            .env("PALISADE_WS_CONNECTS_PER_MINUTE", "1000000")
            .env("PALISADE_WS_CONNECT_BURST", "100000")
            .env("PALISADE_WS_SOCKETS_PER_ADDRESS", "1000000")
            .env("PALISADE_CONNECTIONS_PER_ADDRESS", "1000000")
            .env("PALISADE_API_REQUESTS_PER_MINUTE", "1000000")
            .env("PALISADE_API_BURST", "100000")
            .env("PALISADE_LOG", "warn");
        if let Some(n) = self.hash_concurrency {
            command.env("PALISADE_PASSWORD_HASH_CONCURRENCY", n.to_string());
        }
        command
    }

    /// Runs a CLI command to completion, failing with what it printed.
    fn cli(&self, args: &[&str]) -> Result<()> {
        let output = self.command(args).output()?;
        if !output.status.success() {
            bail!("palisade-server {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

async fn start_server(options: &Options) -> Result<Server> {
    let data = tempfile::tempdir()?;
    let mail = SmtpSink::start().await?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = Server {
        child: None,
        base: format!("http://127.0.0.1:{port}"),
        mail,
        bin: options.server_bin.clone(),
        port,
        hash_concurrency: options.hash_concurrency,
        data,
    };
    server.cli(&["site", "add", SITE, "--name", "Load", "--origin", ORIGIN])?;
    server.child = Some(server.command(&["serve"]).stdout(Stdio::null()).spawn()?);
    Ok(server)
}

async fn wait_healthy(http: &reqwest::Client, base: &str) -> Result<()> {
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server did not come up")
}

/// Signs a person up the way the widget does: asks for the link, reads it from the mail,
/// finishes with it. Returns the access token.
async fn register(http: &reqwest::Client, server: &Server, email: &str) -> Result<String> {
    let base = &server.base;
    let body = json!({"site": SITE, "email": email, "return_to": ORIGIN});
    let asked = http.post(format!("{base}/api/v1/auth/register")).header("origin", ORIGIN).json(&body).send().await?;
    if !asked.status().is_success() {
        bail!("register {email}: {}", asked.status());
    }
    let mail = server.mail.wait_for_mail_to(email, 1).await.with_context(|| format!("no sign-up mail to {email}"))?;
    let token =
        mail.token(ORIGIN, SIGN_UP_FRAGMENT).with_context(|| format!("no sign-up link in the mail to {email}"))?;
    let body = json!({"site": SITE, "token": token, "display_name": "Load", "password": PASSWORD});
    let response =
        http.post(format!("{base}/api/v1/auth/register/complete")).header("origin", ORIGIN).json(&body).send().await?;
    if !response.status().is_success() {
        bail!("finishing the sign-up of {email}: {}", response.status());
    }
    let tokens: serde_json::Value = response.json().await?;
    tokens["access_token"].as_str().map(str::to_owned).context("no access token")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(base: &str, token: &str) -> Result<Socket> {
    let url = format!("{}/api/v1/ws?site={SITE}", base.replacen("http", "ws", 1));
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("origin", ORIGIN.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let auth = ClientFrame::Auth { access_token: token.to_owned() };
    socket.send(Message::text(serde_json::to_string(&auth)?)).await?;
    Ok(socket)
}

async fn next_frame(socket: &mut Socket) -> Result<ServerFrame> {
    loop {
        match socket.next().await.context("socket closed")?? {
            Message::Text(text) => return Ok(serde_json::from_str(&text)?),
            Message::Close(_) => bail!("socket closed"),
            _ => {}
        }
    }
}

/// Sends `MESSAGES_PER_SEC` messages for `phase` and returns each one's delivery latency.
async fn chat_phase(
    sender: &mut Socket,
    receiver: &mut Socket,
    room: RoomId,
    phase: Duration,
) -> Result<Vec<Duration>> {
    let started = Instant::now();
    let mut every = tokio::time::interval(Duration::from_millis(1000 / MESSAGES_PER_SEC));
    let mut latencies = Vec::new();
    while started.elapsed() < phase {
        every.tick().await;
        let sent_at = Instant::now();
        let frame = ClientFrame::Send { room, client_id: ClientMessageId(uuid::Uuid::new_v4()), body: "load".into() };
        sender.send(Message::text(serde_json::to_string(&frame)?)).await?;
        loop {
            if let ServerFrame::Message(_) = next_frame(receiver).await? {
                latencies.push(sent_at.elapsed());
                break;
            }
        }
        // The sender's ack (and its own copy of the message) are drained so they never queue up.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_millis(1), sender.next()).await {}
    }
    Ok(latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(name: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<22} messages {:>4}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        latencies.len(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
}

#[derive(Default)]
struct FloodCounts {
    ok: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = options()?;
    let server = start_server(&options).await?;
    let http = reqwest::Client::new();
    wait_healthy(&http, &server.base).await?;
    if let Some(accounts) = options.enumeration_probe {
        return enumeration::run(&http, &server, accounts).await;
    }
    if options.fanout.clients > 0 {
        return fanout::run(&http, &server, &options.fanout, options.phase).await;
    }
    let sender_token = register(&http, &server, "sender@load.example").await?;
    let receiver_token = register(&http, &server, "receiver@load.example").await?;
    let rooms: serde_json::Value =
        http.get(format!("{}/api/v1/rooms", server.base)).bearer_auth(&receiver_token).send().await?.json().await?;
    let room: RoomId = serde_json::from_value(rooms["rooms"][0]["id"].clone())?;
    let mut sender = socket(&server.base, &sender_token).await?;
    let mut receiver = socket(&server.base, &receiver_token).await?;
    next_frame(&mut sender).await?;
    next_frame(&mut receiver).await?;
    let subscribe = ClientFrame::Subscribe { room, after_seq: 0 };
    receiver.send(Message::text(serde_json::to_string(&subscribe)?)).await?;

    chat_phase(&mut sender, &mut receiver, room, Duration::from_secs(2)).await?; // warm-up
    let quiet = chat_phase(&mut sender, &mut receiver, room, options.phase).await?;

    let flooding = Arc::new(AtomicBool::new(true));
    let counts = Arc::new(FloodCounts::default());
    let mut workers = Vec::new();
    for n in 0..options.flood_workers {
        let email = format!("flood{n}@load.example");
        register(&http, &server, &email).await?;
        let (http, base, flooding, counts) = (http.clone(), server.base.clone(), flooding.clone(), counts.clone());
        workers.push(tokio::spawn(async move {
            let body = json!({"site": SITE, "email": email, "password": PASSWORD});
            while flooding.load(Ordering::Relaxed) {
                let sent =
                    http.post(format!("{base}/api/v1/auth/login")).header("origin", ORIGIN).json(&body).send().await;
                let counter = match sent.map(|r| r.status().as_u16()) {
                    Ok(200) => &counts.ok,
                    Ok(503) => &counts.busy,
                    _ => &counts.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let flood_started = Instant::now();
    let flooded = chat_phase(&mut sender, &mut receiver, room, options.phase).await?;
    let flood_secs = flood_started.elapsed().as_secs_f64();
    flooding.store(false, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }

    println!("palisade-load: {} flood workers, {} s per phase", options.flood_workers, options.phase.as_secs());
    report("no sign-ins", quiet);
    report("sign-in flood", flooded);
    println!(
        "sign-ins: {:.1}/s succeeded, {:.1}/s refused busy (503), {} other",
        counts.ok.load(Ordering::Relaxed) as f64 / flood_secs,
        counts.busy.load(Ordering::Relaxed) as f64 / flood_secs,
        counts.other.load(Ordering::Relaxed),
    );
    drop(server);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 50.0), Duration::from_millis(51));
        assert_eq!(percentile(&sorted, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }
}
