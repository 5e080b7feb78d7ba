//! The WebSocket connection: authenticate with the first frame, subscribe to the open room and
//! to every room whose unread messages count, each from the highest `seq` already known, send
//! and re-send messages and typing notices, and reconnect with capped exponential backoff
//! whenever the connection drops. Each attempt authenticates with the newest access token; one
//! that is refused is renewed once. It stops when its [`Socket`] handle is dropped, and signs
//! the person out when the server ends the session (logout elsewhere, password change).

use std::collections::HashSet;
use std::pin::pin;
use std::time::Duration;

use futures::channel::mpsc;
use futures::future::{self, Either};
use futures::stream::{self, SplitSink};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{Message, State, WebSocketError, futures::WebSocket};
use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, ErrorCode, RoomId};

use crate::auth;
use crate::browser;
use crate::chat::Chat;
use crate::error_text;
use crate::i18n::t;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Open,
    Reconnecting,
}

impl ConnectionState {
    /// The `data-state` value end-to-end tests wait on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Open => "open",
            Self::Reconnecting => "reconnecting",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => t().connecting,
            Self::Open => t().connected,
            Self::Reconnecting => t().reconnecting,
        }
    }
}

/// What the rest of the widget asks of the connection. While it is down these are dropped:
/// after the next authentication every watched room is subscribed and every unacknowledged
/// message sent again anyway.
#[derive(Debug, Clone, Copy)]
pub enum Request {
    /// Send this message (already in a timeline).
    Send(ClientMessageId),
    /// Subscribe to this room (again) from the newest message held: it was just opened.
    Subscribe(RoomId),
    /// Subscribe to the watched rooms this connection does not follow yet (the list changed).
    Watch,
    /// The person is typing in this room.
    Typing(RoomId),
}

/// Handle to the running connection task.
#[derive(Debug)]
pub struct Socket {
    requests: mpsc::UnboundedSender<Request>,
}

impl Socket {
    pub fn start(chat: Chat, url: String, generation: u64) -> Self {
        let (requests, receiver) = mpsc::unbounded();
        spawn_local(run(Link { chat, url, generation }, receiver));
        Self { requests }
    }

    pub fn request(&self, request: Request) {
        let _ = self.requests.unbounded_send(request);
    }
}

struct Link {
    chat: Chat,
    url: String,
    generation: u64,
}

impl Link {
    fn current(&self) -> bool {
        self.chat.is_current(self.generation)
    }
}

enum Ended {
    /// The connection closed or never opened; `stable` when it had been open long enough that
    /// the next attempt should start from the shortest delay again.
    Dropped { stable: bool },
    /// The handle was dropped (sign-out): stop for good.
    Stopped,
    /// The token (of this session version) was refused; reconnecting with it cannot help, a
    /// renewed one may.
    Refused { version: u64 },
    /// The server ended the session: stop, the person is signed out.
    Revoked(String),
    /// The session must set up a second factor before it may chat: stop, and show the set-up.
    MfaRequired,
}

/// The close reason the server gives when it ends a connection because its session ended.
const SESSION_ENDED: &str = "session_ended";

enum Event {
    Frame(Result<Message, WebSocketError>),
    Closed,
    Request(Request),
    Stop,
}

/// A connection that stayed up this long resets the backoff, so a server that accepts and then
/// immediately drops connections still gets backed off from.
const STABLE_AFTER_MILLIS: i64 = 10_000;

async fn run(link: Link, mut requests: mpsc::UnboundedReceiver<Request>) {
    let mut failures: u32 = 0;
    let mut state = ConnectionState::Connecting;
    // Whether the previous attempt's token was refused and then renewed.
    let mut renewed = false;
    loop {
        if !link.current() {
            return;
        }
        link.chat.connection.set(state);
        match connect_once(&link, &mut requests).await {
            Ended::Stopped => return,
            Ended::MfaRequired => {
                if link.current() {
                    link.chat.require_mfa();
                }
                return;
            }
            Ended::Revoked(reason) => {
                if link.current() {
                    link.chat.sign_out(Some(reason));
                }
                return;
            }
            // A fresh token refused as well: something else is wrong, and looping cannot help.
            Ended::Refused { .. } if renewed => {
                if link.current() {
                    link.chat.sign_out(Some(error_text::for_code(ErrorCode::Unauthenticated, "", None)));
                }
                return;
            }
            Ended::Refused { version } => match auth::renew(link.chat, version).await {
                Ok(()) => {
                    renewed = true;
                    continue;
                }
                // On 401 `renew` has signed the person out already.
                Err(err) if err.code() == Some(ErrorCode::Unauthenticated) => return,
                Err(_) => {}
            },
            Ended::Dropped { stable } => {
                renewed = false;
                if stable {
                    failures = 0;
                }
            }
        }
        if !link.current() {
            return;
        }
        state = ConnectionState::Reconnecting;
        link.chat.connection.set(state);
        let delay = backoff_delay(failures, browser::jitter());
        failures = failures.saturating_add(1);
        if !wait(delay, &mut requests).await {
            return;
        }
    }
}

async fn connect_once(link: &Link, requests: &mut mpsc::UnboundedReceiver<Request>) -> Ended {
    let version = link.chat.session.version();
    let Some(token) = link.chat.session.token() else {
        return Ended::Stopped;
    };
    let Ok(mut ws) = WebSocket::open(&link.url) else {
        return Ended::Dropped { stable: false };
    };
    // Ready means open or failed; writing to a failed socket only makes the browser log noise.
    let _ = future::poll_fn(|cx| ws.poll_ready_unpin(cx)).await;
    if !matches!(ws.state(), State::Open) {
        return Ended::Dropped { stable: false };
    }
    let (mut sink, frames) = ws.split();
    // The token travels only in this first frame, never in the URL where logs would keep it.
    let auth = ClientFrame::Auth { access_token: token.as_str().to_owned() };
    if !send(&mut sink, &auth).await {
        return Ended::Dropped { stable: false };
    }

    let frames = frames.map(Event::Frame).chain(stream::once(future::ready(Event::Closed)));
    let sends = requests.by_ref().map(Event::Request).chain(stream::once(future::ready(Event::Stop)));
    let mut events = stream::select(frames, sends);
    let mut opened_at: Option<i64> = None;
    // What this connection has sent and not yet seen answered; a new connection starts empty.
    let mut in_flight: HashSet<ClientMessageId> = HashSet::new();
    // The rooms this connection follows.
    let mut subscribed: Vec<RoomId> = Vec::new();

    while let Some(event) = events.next().await {
        if !link.current() {
            return Ended::Stopped;
        }
        let keep_going = match event {
            Event::Stop => return Ended::Stopped,
            Event::Closed => false,
            Event::Frame(Ok(Message::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                // Before `ready` the token was refused; after it, the session has ended.
                Ok(ServerFrame::Error { error: ErrorCode::Unauthenticated, client_id: None, .. }) => {
                    return match opened_at {
                        None => Ended::Refused { version },
                        Some(_) => session_ended(),
                    };
                }
                Ok(ServerFrame::Error { error: ErrorCode::MfaEnrolmentRequired, client_id: None, .. }) => {
                    return Ended::MfaRequired;
                }
                Ok(ServerFrame::Ready { user }) => {
                    link.chat.session.set_user(user);
                    link.chat.refresh_presence();
                    // Back after a drop: rooms may have been started while no frame could say so.
                    if link.chat.connection.get_untracked() == ConnectionState::Reconnecting {
                        link.chat.refresh_rooms();
                    }
                    let opened = on_ready(link, &mut sink, &mut in_flight, &mut subscribed).await;
                    if opened {
                        opened_at = Some(browser::now().as_millis());
                    }
                    opened
                }
                Ok(frame) => {
                    apply(link, frame, &mut in_flight);
                    true
                }
                Err(_) => {
                    browser::log_warning("Palisade: ignored a WebSocket frame this widget does not understand");
                    true
                }
            },
            Event::Frame(Err(WebSocketError::ConnectionClose(close))) if close.reason == SESSION_ENDED => {
                return session_ended();
            }
            // Errors are followed by the close that ends the stream; binary frames are not ours.
            Event::Frame(_) => true,
            // Before `ready`, `on_ready` takes care of everything asked meanwhile.
            Event::Request(_) if opened_at.is_none() => true,
            Event::Request(Request::Send(client_id)) => match link.chat.pending(client_id) {
                Some((room, body)) if !in_flight.contains(&client_id) => {
                    in_flight.insert(client_id);
                    send(&mut sink, &ClientFrame::Send { room, client_id, body }).await
                }
                _ => true,
            },
            Event::Request(Request::Subscribe(room)) => {
                if !subscribed.contains(&room) {
                    subscribed.push(room);
                }
                let after_seq = link.chat.subscribe_from(room);
                send(&mut sink, &ClientFrame::Subscribe { room, after_seq }).await
            }
            Event::Request(Request::Watch) => subscribe_watched(link, &mut sink, &mut subscribed).await,
            // The server passes notices on only in rooms this connection follows.
            Event::Request(Request::Typing(room)) if subscribed.contains(&room) => {
                send(&mut sink, &ClientFrame::Typing { room }).await
            }
            Event::Request(Request::Typing(_)) => true,
        };
        if !keep_going {
            break;
        }
    }
    let stable = opened_at.is_some_and(|at| browser::now().as_millis() - at >= STABLE_AFTER_MILLIS);
    Ended::Dropped { stable }
}

fn session_ended() -> Ended {
    Ended::Revoked(error_text::for_code(ErrorCode::Unauthenticated, "", None))
}

/// Subscribes to every watched room from the newest message already known there (the server
/// replays everything after it) and re-sends what is still unacknowledged under the same
/// client ids, which the server stores only once.
async fn on_ready(
    link: &Link,
    sink: &mut SplitSink<WebSocket, Message>,
    in_flight: &mut HashSet<ClientMessageId>,
    subscribed: &mut Vec<RoomId>,
) -> bool {
    if !subscribe_watched(link, sink, subscribed).await {
        return false;
    }
    for (room, client_id, body) in link.chat.unacknowledged() {
        in_flight.insert(client_id);
        if !send(sink, &ClientFrame::Send { room, client_id, body }).await {
            return false;
        }
    }
    link.chat.connection.set(ConnectionState::Open);
    link.chat.error.set(None);
    true
}

/// Subscribes to the watched rooms not followed yet; false if the socket died.
async fn subscribe_watched(
    link: &Link,
    sink: &mut SplitSink<WebSocket, Message>,
    subscribed: &mut Vec<RoomId>,
) -> bool {
    for (room, after_seq) in link.chat.subscriptions() {
        if subscribed.contains(&room) {
            continue;
        }
        subscribed.push(room);
        if !send(sink, &ClientFrame::Subscribe { room, after_seq }).await {
            return false;
        }
    }
    true
}

fn apply(link: &Link, frame: ServerFrame, in_flight: &mut HashSet<ClientMessageId>) {
    let chat = &link.chat;
    match frame {
        ServerFrame::Message(view) => chat.received(view, false),
        // Keyed by seq, so an edit or deletion simply replaces the message it updates.
        ServerFrame::Updated(view) => chat.received(view, true),
        ServerFrame::Removed { room } => chat.lost_room(room),
        // The list answer carries what the frame does not: unread counts, the other person.
        ServerFrame::RoomAdded { room } => {
            if chat.rooms.with_untracked(|rooms| rooms.get(room).is_none()) {
                chat.refresh_rooms();
            }
        }
        ServerFrame::Typing { room, user } => chat.someone_typing(room, &user),
        ServerFrame::Read { room, user, seq } => chat.someone_read(room, user, seq),
        // Taken by the read loop itself, which must know when the socket is ready.
        ServerFrame::Ready { .. } => {}
        ServerFrame::Presence { user, online } => chat.someone_online(user.id, online),
        ServerFrame::Ack { client_id, id, seq } => {
            in_flight.remove(&client_id);
            chat.acknowledged(client_id, id, seq);
        }
        ServerFrame::Error { error, message, client_id } => {
            let text = error_text::for_code(error, &message, None);
            match client_id {
                Some(client_id) => {
                    in_flight.remove(&client_id);
                    chat.refused(client_id, text);
                }
                None => chat.error.set(Some(text)),
            }
        }
    }
}

async fn send(sink: &mut SplitSink<WebSocket, Message>, frame: &ClientFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => sink.send(Message::Text(text)).await.is_ok(),
        Err(_) => false,
    }
}

/// Waits out the backoff. Sends requested meanwhile need no handling: they are in the timeline
/// and go out after the next authentication. Returns false when the handle was dropped.
async fn wait(delay: Duration, requests: &mut mpsc::UnboundedReceiver<Request>) -> bool {
    let mut timer = pin!(browser::sleep(delay));
    loop {
        match future::select(timer.as_mut(), requests.next()).await {
            Either::Left(_) => return true,
            Either::Right((Some(_), _)) => {}
            Either::Right((None, _)) => return false,
        }
    }
}

const BACKOFF_BASE_MILLIS: u64 = 500;
const BACKOFF_CAP_MILLIS: u64 = 30_000;

/// Exponential from half a second, capped at 30 s, with the upper half jittered so that many
/// widgets dropped by one server restart do not all come back in the same instant.
fn backoff_delay(failures: u32, jitter: f64) -> Duration {
    let ceiling = BACKOFF_BASE_MILLIS.saturating_mul(1_u64 << failures.min(16)).min(BACKOFF_CAP_MILLIS);
    let half = ceiling / 2;
    // `jitter` is in [0, 1), so the product is below `half` and fits in u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let spread = (half as f64 * jitter.clamp(0.0, 1.0)) as u64;
    Duration::from_millis(half + spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let floor: Vec<u64> = (0..10).map(|n| backoff_delay(n, 0.0).as_millis() as u64).collect();
        assert_eq!(floor, [250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000, 15_000]);
        assert_eq!(backoff_delay(3, 0.999_999).as_millis(), 3999);
        assert_eq!(backoff_delay(u32::MAX, 0.999_999).as_millis(), 29_999);
        assert_eq!(backoff_delay(0, 5.0).as_millis(), 500);
    }

    #[test]
    fn connection_states_have_stable_test_names() {
        let names: Vec<_> = [ConnectionState::Connecting, ConnectionState::Open, ConnectionState::Reconnecting]
            .into_iter()
            .map(ConnectionState::as_str)
            .collect();
        assert_eq!(names, ["connecting", "open", "reconnecting"]);
    }
}
