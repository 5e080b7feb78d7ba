//! `--clients N [--rooms M] [--rate R] [--idle K] [--seconds T]`: fan-out under load. N
//! WebSocket clients (shared among a few accounts, as tabs are) each subscribe to one of M
//! channels; one sender per room sends R messages per second in all for T seconds; every client
//! times each delivery from the moment it was sent and checks that its room's sequence numbers
//! arrive once each and in order. Then K more connections are opened and left idle, and the
//! server's resident memory before and after gives the cost of one idle connection.
//!
//! Sender, receivers and server share one machine: on two cores the figures are a floor for
//! the server, not a ceiling.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::SinkExt;
use palisade_protocol::ClientMessageId;
use palisade_protocol::RoomId;
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use serde_json::json;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::{SITE, Server, Socket, next_frame, percentile, register, socket};

/// How many accounts the clients share.
const ACCOUNTS: usize = 20;

#[derive(Debug, Clone)]
pub struct Plan {
    pub clients: usize,
    pub rooms: usize,
    /// Messages per second over all rooms.
    pub rate: u64,
    pub idle: usize,
}

impl Default for Plan {
    fn default() -> Self {
        Self { clients: 0, rooms: 10, rate: 100, idle: 0 }
    }
}

/// What one receiving client saw.
#[derive(Default)]
struct Received {
    latencies: Vec<Duration>,
    /// Sequence numbers that came twice or out of order, or skipped some.
    misordered: u64,
    /// The server closed the socket (a reader it found too slow, say).
    closed: bool,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
}

fn frame_text(frame: &ClientFrame) -> Result<Message> {
    Ok(Message::text(serde_json::to_string(frame)?))
}

/// A socket past its `ready` frame.
async fn ready_socket(base: &str, token: &str) -> Result<Socket> {
    let mut socket = socket(base, token).await?;
    match next_frame(&mut socket).await? {
        ServerFrame::Ready { .. } => Ok(socket),
        other => bail!("expected ready, got {other:?}"),
    }
}

/// The server's resident memory in KiB, from /proc.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS in /proc status")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS without a value")?.parse()?)
}

async fn rooms_for(http: &reqwest::Client, server: &Server, owner: &str, count: usize) -> Result<Vec<RoomId>> {
    let listed: serde_json::Value =
        http.get(format!("{}/api/v1/rooms", server.base)).bearer_auth(owner).send().await?.json().await?;
    let mut rooms = vec![serde_json::from_value::<RoomId>(listed["rooms"][0]["id"].clone())?];
    while rooms.len() < count {
        let body = json!({"kind": "channel", "name": format!("load {}", rooms.len())});
        let created = http.post(format!("{}/api/v1/rooms", server.base)).bearer_auth(owner).json(&body).send().await?;
        if created.status() != 201 {
            bail!("creating a room: {}", created.status());
        }
        let created: serde_json::Value = created.json().await?;
        rooms.push(serde_json::from_value(created["id"].clone())?);
    }
    Ok(rooms)
}

/// Reads one client's room until `stop`, timing each message by the send instant in its body.
async fn receive(mut socket: Socket, origin: Instant, stop: Arc<AtomicBool>, warm: Arc<AtomicUsize>) -> Received {
    let mut seen = Received::default();
    let mut last_seq = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(next) = tokio::time::timeout(Duration::from_millis(200), next_frame(&mut socket)).await else {
            continue;
        };
        let message = match next {
            Ok(ServerFrame::Message(message)) => message,
            Ok(_) => continue,
            Err(_) => {
                seen.closed = true;
                break;
            }
        };
        if message.seq != last_seq + 1 {
            seen.misordered += 1;
        }
        last_seq = message.seq;
        match message.body.parse::<u64>() {
            Ok(sent_micros) => {
                let now = u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX);
                seen.latencies.push(Duration::from_micros(now.saturating_sub(sent_micros)));
            }
            // The warm-up message: this client's subscription is live.
            Err(_) => {
                warm.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    seen
}

/// Sends to `room` at `every` until `stop`, counting acks and refusals as they come back, then
/// waits (a little) for the acks still owed, so no message is abandoned mid-flight.
async fn send(
    mut socket: Socket,
    room: RoomId,
    every: Duration,
    origin: Instant,
    stop: Arc<AtomicBool>,
    counts: Arc<Counters>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut owed = 0_u64;
    let drain_until = loop {
        if stop.load(Ordering::Relaxed) {
            break Instant::now() + Duration::from_secs(5);
        }
        tokio::select! {
            _ = tick.tick() => {
                let body = origin.elapsed().as_micros().to_string();
                let frame = ClientFrame::Send { room, client_id: ClientMessageId(uuid::Uuid::new_v4()), body };
                let Ok(text) = frame_text(&frame) else { return };
                if socket.send(text).await.is_err() {
                    counts.errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                counts.sent.fetch_add(1, Ordering::Relaxed);
                owed += 1;
            }
            frame = next_frame(&mut socket) => if !count_answer(frame, &counts, &mut owed) { return },
        }
    };
    while owed > 0 {
        let left = drain_until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, next_frame(&mut socket)).await {
            Ok(frame) => {
                if !count_answer(frame, &counts, &mut owed) {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Counts an ack or a refusal; false when the socket is gone.
fn count_answer(frame: Result<ServerFrame>, counts: &Counters, owed: &mut u64) -> bool {
    match frame {
        Ok(ServerFrame::Ack { .. }) => {
            counts.acked.fetch_add(1, Ordering::Relaxed);
            *owed = owed.saturating_sub(1);
        }
        Ok(ServerFrame::Error { .. }) => {
            counts.errors.fetch_add(1, Ordering::Relaxed);
            *owed = owed.saturating_sub(1);
        }
        Ok(_) => {}
        Err(_) => {
            counts.errors.fetch_add(1, Ordering::Relaxed);
            return false;
        }
    }
    true
}

pub async fn run(http: &reqwest::Client, server: &Server, plan: &Plan, phase: Duration) -> Result<()> {
    let rooms_wanted = plan.rooms.max(1);
    let accounts = plan.clients.clamp(1, ACCOUNTS);
    let mut tokens = Vec::new();
    for n in 0..accounts {
        tokens.push(register(http, server, &format!("fan{n}@load.example")).await?);
    }
    // The first account creates the rooms, which takes a staff role; staff need no second
    // factor here.
    server.cli(&["site", "mfa-policy", SITE, "--roles"])?;
    server.cli(&["user", "role", "--role", "owner", "--site", SITE, "--email", "fan0@load.example"])?;
    let rooms = rooms_for(http, server, &tokens[0], rooms_wanted).await?;

    let origin = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let warm = Arc::new(AtomicUsize::new(0));
    let mut receivers = JoinSet::new();
    for n in 0..plan.clients {
        let mut socket = ready_socket(&server.base, &tokens[n % accounts]).await?;
        socket.send(frame_text(&ClientFrame::Subscribe { room: rooms[n % rooms.len()], after_seq: 0 })?).await?;
        receivers.spawn(receive(socket, origin, stop.clone(), warm.clone()));
    }
    let mut senders = Vec::new();
    for room in &rooms {
        let mut socket = ready_socket(&server.base, &tokens[0]).await?;
        let frame =
            ClientFrame::Send { room: *room, client_id: ClientMessageId(uuid::Uuid::new_v4()), body: "warm-up".into() };
        socket.send(frame_text(&frame)?).await?;
        while !matches!(next_frame(&mut socket).await?, ServerFrame::Ack { .. }) {}
        senders.push(socket);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while warm.load(Ordering::Relaxed) < plan.clients {
        if Instant::now() > deadline {
            bail!("only {} of {} clients were live after a minute", warm.load(Ordering::Relaxed), plan.clients);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let counts = Arc::new(Counters::default());
    let stop_sending = Arc::new(AtomicBool::new(false));
    let every = Duration::from_secs_f64(rooms.len() as f64 / plan.rate.max(1) as f64);
    let mut sender_tasks = JoinSet::new();
    for (socket, room) in senders.into_iter().zip(&rooms) {
        sender_tasks.spawn(send(socket, *room, every, origin, stop_sending.clone(), counts.clone()));
    }
    let started = Instant::now();
    tokio::time::sleep(phase).await;
    stop_sending.store(true, Ordering::Relaxed);
    let sent_for = started.elapsed();
    while sender_tasks.join_next().await.is_some() {}
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let (mut misordered, mut closed) = (0, 0);
    while let Some(received) = receivers.join_next().await {
        let received = received?;
        latencies.extend(received.latencies);
        misordered += received.misordered;
        closed += usize::from(received.closed);
    }
    latencies.sort();

    let sent = counts.sent.load(Ordering::Relaxed);
    let per_room = plan.clients.div_ceil(rooms.len());
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "palisade-load fan-out: {} clients on {} accounts over {} rooms, {} msg/s asked for {} s",
        plan.clients,
        accounts,
        rooms.len(),
        plan.rate,
        phase.as_secs()
    );
    println!(
        "sent {sent} ({:.0}/s), acked {}, errors {}, deliveries {} of about {} expected ({:.0}/s), out of order \
         {misordered}, clients cut off {closed}",
        sent as f64 / sent_for.as_secs_f64(),
        counts.acked.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed),
        latencies.len(),
        sent as usize * per_room,
        latencies.len() as f64 / sent_for.as_secs_f64(),
    );
    println!(
        "send to receive: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    if plan.idle > 0 {
        idle_cost(server, &tokens, plan.idle).await?;
    }
    Ok(())
}

/// Opens `count` authenticated connections that then do nothing, and prints the server's
/// resident memory per connection.
async fn idle_cost(server: &Server, tokens: &[String], count: usize) -> Result<()> {
    let pid = server.pid().context("the server is not running")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(pid)?;
    let mut idle = Vec::with_capacity(count);
    for n in 0..count {
        idle.push(ready_socket(&server.base, &tokens[n % tokens.len()]).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid)?;
    println!(
        "idle connections: {count}, server RSS {before} KiB -> {after} KiB, {:.1} KiB per connection",
        after.saturating_sub(before) as f64 / count as f64
    );
    drop(idle);
    Ok(())
}
