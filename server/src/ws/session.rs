//! One WebSocket connection: authenticate, then subscribe/send until either side closes.
//!
//! Delivery order per room: subscribe to the bus first, then replay from storage, then forward
//! live events, skipping any the replay already sent. Subscribing first means nothing stored
//! between the replay and going live can fall in a gap.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use futures_util::StreamExt;
use governor::{DefaultDirectRateLimiter, RateLimiter};
use palisade_bus::{RecvError, RoomEvent, Topic};
use palisade_protocol::limits::{HISTORY_PAGE_MAX, TYPING_EVERY_SECS, WS_AUTH_TIMEOUT_SECS, check_message_body};
use palisade_protocol::messages::{Author, MessageView};
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, ErrorCode, MessageId, RoomId, UserId};
use palisade_store::group_commit::QueuedMessage;
use palisade_store::messages::{Appended, Cursor};
use palisade_store::{sites, users};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::audit::Client;
use crate::authz::Actor;
use crate::routes::messages::message_view;
use palisade_auth::AccessClaims;

const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// How often an open socket re-checks that its session is live, so that logout, a password
/// change or ending the session elsewhere closes it within seconds, on any instance.
const SESSION_CHECK_EVERY: Duration = Duration::from_secs(3);
const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// Live events buffered per connection before it counts as a slow consumer.
const OUTBOUND_QUEUE: usize = 256;
/// How long a write may wait for the client to read before it counts as a slow consumer. A
/// client that stops reading fills the socket's buffers, and then the write blocks this
/// connection's loop, which would otherwise never see its queue fill.
const WRITE_STALL_LIMIT: Duration = Duration::from_secs(10);
/// Frames refused in a row for going over the frame limit before the connection is closed: a
/// client that keeps sending after being told to slow down is not listening.
const REFUSALS_BEFORE_CLOSE: u32 = 50;

/// Why the server ends a connection; sent as the close frame's reason.
#[derive(Debug, Clone, Copy)]
enum Closing {
    AuthTimeout,
    AuthFailed,
    ProtocolViolation,
    SlowConsumer,
    Idle,
    SessionEnded,
    RateLimited,
    ServerRestart,
    ServerError,
}

impl Closing {
    fn reason(self) -> CloseReason {
        let (code, text) = match self {
            Self::AuthTimeout => (CloseCode::Policy, "auth_timeout"),
            Self::AuthFailed => (CloseCode::Policy, "unauthenticated"),
            Self::ProtocolViolation => (CloseCode::Policy, "protocol_violation"),
            // 1013 "try again later": the client should reconnect and resume from its last seq.
            Self::SlowConsumer => (CloseCode::Again, "slow_consumer"),
            Self::Idle => (CloseCode::Away, "idle"),
            Self::SessionEnded => (CloseCode::Policy, "session_ended"),
            Self::RateLimited => (CloseCode::Policy, "rate_limited"),
            // 1012: this instance is stopping; resume on another, or on this one once it is back.
            Self::ServerRestart => (CloseCode::Restart, "server_restart"),
            Self::ServerError => (CloseCode::Error, "server_error"),
        };
        CloseReason { code, description: Some(text.to_owned()) }
    }
}

/// An event for the connection from one of its room forwarders.
enum Live {
    Message(Arc<RoomEvent>),
    /// This connection's person lost the room.
    Revoked(RoomId),
    Lagged,
}

struct Connection {
    state: Arc<AppState>,
    socket: Session,
    user: Author,
    actor: Actor,
    /// Highest seq delivered per subscribed room, and the task forwarding its live events.
    rooms: HashMap<RoomId, (u64, JoinHandle<()>)>,
    live_tx: mpsc::Sender<Live>,
    /// When a typing notice was last passed on, per room.
    typing: HashMap<RoomId, Instant>,
    /// This connection's allowance of frames, and how many it has had refused since its last
    /// accepted one.
    frames: DefaultDirectRateLimiter,
    refused_in_a_row: u32,
}

impl Drop for Connection {
    fn drop(&mut self) {
        for (_, forwarder) in self.rooms.values() {
            forwarder.abort();
        }
    }
}

async fn send(socket: &mut Session, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => socket.text(text).await.is_ok(),
        Err(_) => false,
    }
}

async fn close(socket: Session, why: Closing) {
    let _ = socket.close(Some(why.reason())).await;
}

/// The client's frame, or what to tell them about it (a `malformed_request` error's message).
fn parse(text: &str) -> Result<ClientFrame, String> {
    serde_json::from_str(text).map_err(|e| {
        if e.to_string().starts_with("unknown variant") {
            format!("unknown frame type: {e}")
        } else {
            format!("the frame is not valid: {e}")
        }
    })
}

/// Drives one connection to its end.
///
/// Every connection keeps this future for as long as it is open, sized for its largest await.
/// The awaits that do database work (authenticating, handling a frame, filling a gap, checking
/// the session) are boxed, so that memory is taken only while they run, not by every idle
/// connection.
pub async fn run(
    state: Arc<AppState>,
    site: sites::Site,
    client: Client,
    mut socket: Session,
    mut stream: AggregatedMessageStream,
) {
    let deadline = Duration::from_secs(WS_AUTH_TIMEOUT_SECS);
    let (user, claims) =
        match tokio::time::timeout(deadline, Box::pin(authenticate(&state, &site, &mut socket, &mut stream))).await {
            Ok(Ok(authenticated)) => authenticated,
            Ok(Err(why)) => return close(socket, why).await,
            Err(_) => {
                send(&mut socket, &ServerFrame::error(ErrorCode::AuthTimeout, "send an auth frame first")).await;
                return close(socket, Closing::AuthTimeout).await;
            }
        };
    // Before `ready`, so a room started once the widget knows it is connected is never missed.
    let mut site_news = state.bus.subscribe(Topic::Site(site.id));
    if !send(&mut socket, &ServerFrame::Ready { user: user.clone() }).await {
        return;
    }
    let open = state.metrics.socket_opened();
    let (live_tx, mut live_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let actor = match Box::pin(Actor::load(&state, site.id, user.id, client)).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return close(socket, Closing::AuthFailed).await,
        Err(e) => {
            tracing::error!(error = %e, "role lookup failed during WebSocket auth");
            return close(socket, Closing::ServerError).await;
        }
    };
    // Online from here until this function returns, when the guard drops.
    let (_online, mut presence) = state.presence.connect(site.id, user.clone());
    let frames = RateLimiter::direct(state.ws_frame_quota);
    let mut conn = Connection {
        state,
        socket,
        user,
        actor,
        rooms: HashMap::new(),
        live_tx,
        typing: HashMap::new(),
        frames,
        refused_in_a_row: 0,
    };
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    let mut session_check = tokio::time::interval(SESSION_CHECK_EVERY);
    let mut last_heard = Instant::now();
    let stopping = conn.state.shutdown.begun();
    tokio::pin!(stopping);
    let ending = loop {
        tokio::select! {
            // Checked between frames, so a message being stored is acknowledged before the close.
            () = &mut stopping => break Some(Closing::ServerRestart),
            incoming = stream.next() => {
                let Some(Ok(message)) = incoming else { break None };
                last_heard = Instant::now();
                match message {
                    AggregatedMessage::Text(text) => {
                        if let Err(why) = Box::pin(conn.on_frame(&text)).await {
                            break why;
                        }
                    }
                    AggregatedMessage::Binary(_) => {
                        let frame = ServerFrame::error(ErrorCode::UnexpectedFrame, "frames are JSON text");
                        if !send(&mut conn.socket, &frame).await { break None; }
                    }
                    AggregatedMessage::Ping(bytes) => {
                        if conn.socket.pong(&bytes).await.is_err() { break None; }
                    }
                    AggregatedMessage::Pong(_) => {}
                    AggregatedMessage::Close(_) => break None,
                }
            }
            live = live_rx.recv() => match live {
                Some(Live::Message(event)) => {
                    let delivered = match event.as_ref() {
                        RoomEvent::Message(message) => Box::pin(conn.deliver_live(message)).await,
                        RoomEvent::Updated(message) => conn.deliver_update(message).await,
                        RoomEvent::Typing { room, user } => conn.deliver_typing(*room, user).await,
                        RoomEvent::Read { room, user, seq } => {
                            conn.deliver_read(*room, *user, *seq).await
                        }
                        RoomEvent::AccessRevoked { .. } | RoomEvent::Opened { .. } => Ok(()),
                    };
                    if let Err(why) = delivered { break why; }
                }
                Some(Live::Revoked(room)) => {
                    if let Err(why) = conn.revoked(room).await { break why; }
                }
                Some(Live::Lagged) => break Some(Closing::SlowConsumer),
                None => break Some(Closing::ServerError),
            },
            news = site_news.recv() => match news {
                Ok(event) => {
                    if let RoomEvent::Opened { room, audience, .. } = *event
                        && audience.includes(conn.user.id, conn.actor.role)
                        && !send(&mut conn.socket, &ServerFrame::RoomAdded { room }).await
                    {
                        break None;
                    }
                }
                // Missed news would leave the person's list of rooms stale; the widget fetches
                // it again when it reconnects.
                Err(RecvError::Lagged(_)) => break Some(Closing::SlowConsumer),
                Err(RecvError::Closed) => break Some(Closing::ServerError),
            },
            change = presence.recv() => match change {
                Ok(change) => {
                    let frame = ServerFrame::Presence { user: change.user, online: change.online };
                    if !send(&mut conn.socket, &frame).await { break None; }
                }
                // Presence is a hint: a connection that fell behind skips what it missed, and
                // the widget can ask for the whole list again.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break Some(Closing::ServerError),
            },
            _ = session_check.tick() => {
                match Box::pin(crate::sessions::live(&conn.state, &claims)).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        let frame = ServerFrame::error(ErrorCode::Unauthenticated, "the session has ended");
                        send(&mut conn.socket, &frame).await;
                        break Some(Closing::SessionEnded);
                    }
                    Err(e) => tracing::warn!(error = %e, "session check failed; trying again shortly"),
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    break Some(Closing::Idle);
                }
                if conn.socket.ping(b"").await.is_err() { break None; }
            }
        }
    };
    let socket = conn.socket.clone();
    drop(conn);
    // Over: only the close frame is left, which waits for a slow consumer to read up to it.
    drop(open);
    if let Some(why) = ending {
        tracing::debug!(?why, "closing WebSocket");
        close(socket, why).await;
    }
}

async fn authenticate(
    state: &AppState,
    site: &sites::Site,
    socket: &mut Session,
    stream: &mut AggregatedMessageStream,
) -> Result<(Author, AccessClaims), Closing> {
    let text = loop {
        match stream.next().await {
            Some(Ok(AggregatedMessage::Text(text))) => break text,
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                socket.pong(&bytes).await.map_err(|_| Closing::ProtocolViolation)?;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => {}
            _ => return Err(Closing::ProtocolViolation),
        }
    };
    let token = match parse(&text) {
        Ok(ClientFrame::Auth { access_token }) => access_token,
        Ok(_) => {
            send(socket, &ServerFrame::error(ErrorCode::UnexpectedFrame, "the first frame must be auth")).await;
            return Err(Closing::ProtocolViolation);
        }
        Err(message) => {
            send(socket, &ServerFrame::error(ErrorCode::MalformedRequest, message)).await;
            return Err(Closing::ProtocolViolation);
        }
    };
    let refuse = |socket: &mut Session| {
        tracing::info!(event = "authn_token_invalid", site = %site.public_id, "WebSocket auth refused");
        let frame = ServerFrame::error(ErrorCode::Unauthenticated, "the access token is invalid or expired");
        let mut socket = socket.clone();
        async move {
            send(&mut socket, &frame).await;
            Err(Closing::AuthFailed)
        }
    };
    let claims = match state.tokens.verify(&token) {
        Ok(claims) if claims.site == site.public_id => claims,
        _ => return refuse(socket).await,
    };
    match crate::sessions::live(state, &claims).await {
        Ok(Some(session)) if session.mfa_pending => {
            let frame = ServerFrame::error(ErrorCode::MfaEnrolmentRequired, "set up two-factor authentication first");
            send(socket, &frame).await;
            return Err(Closing::AuthFailed);
        }
        Ok(Some(_)) => {}
        Ok(None) => return refuse(socket).await,
        Err(_) => return Err(Closing::ServerError),
    }
    let (site_id, user) = (site.id, claims.sub);
    let found = state.store.interact(move |conn| users::find(conn, &site_id, &user)).await;
    match found {
        Ok(Some(user)) => Ok((Author { id: user.id, display_name: user.display_name }, claims)),
        Ok(None) => refuse(socket).await,
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed during WebSocket auth");
            Err(Closing::ServerError)
        }
    }
}

impl Connection {
    async fn reply(&mut self, frame: ServerFrame) -> Result<(), Option<Closing>> {
        if send(&mut self.socket, &frame).await { Ok(()) } else { Err(None) }
    }

    /// Handles one client frame; `Err` ends the connection (with a close reason when `Some`).
    async fn on_frame(&mut self, text: &str) -> Result<(), Option<Closing>> {
        let frame = parse(text);
        if self.frames.check().is_err() {
            return self.refuse_frame(frame.ok()).await;
        }
        self.refused_in_a_row = 0;
        match frame {
            Err(message) => self.reply(ServerFrame::error(ErrorCode::MalformedRequest, message)).await,
            Ok(ClientFrame::Auth { .. }) => {
                self.reply(ServerFrame::error(ErrorCode::UnexpectedFrame, "already authenticated")).await
            }
            Ok(ClientFrame::Subscribe { room, after_seq }) => self.subscribe(room, after_seq).await,
            Ok(ClientFrame::Send { room, client_id, body }) => self.send_message(room, client_id, body).await,
            Ok(ClientFrame::Typing { room }) => self.typing(room).await,
        }
    }

    /// Refuses a frame over the connection's limit, naming the message when it was one so the
    /// client knows to send it again.
    async fn refuse_frame(&mut self, frame: Option<ClientFrame>) -> Result<(), Option<Closing>> {
        self.state.metrics.rate_limited("ws_frame");
        self.refused_in_a_row += 1;
        if self.refused_in_a_row >= REFUSALS_BEFORE_CLOSE {
            tracing::info!(
                event = "rate_limited",
                route_class = "ws_frame",
                "closing a WebSocket that ignores its limit"
            );
            return Err(Some(Closing::RateLimited));
        }
        let client_id = match frame {
            Some(ClientFrame::Send { client_id, .. }) => Some(client_id),
            _ => None,
        };
        let message = "too many frames on this connection; slow down".to_owned();
        self.reply(ServerFrame::Error { error: ErrorCode::RateLimited, message, client_id }).await
    }

    /// Whether the connection's person may see `room` now, recording a refusal when not.
    async fn may_see(&self, action: &str, room: RoomId) -> Result<bool, Option<Closing>> {
        match self.actor.see(&self.state, action, room).await {
            Ok(seen) => Ok(seen.is_some()),
            Err(e) => {
                tracing::error!(error = %e, "room lookup failed");
                Err(Some(Closing::ServerError))
            }
        }
    }

    /// Stops delivering a room its person was removed or banned from, and tells them so.
    async fn revoked(&mut self, room: RoomId) -> Result<(), Option<Closing>> {
        if let Some((_, forwarder)) = self.rooms.remove(&room) {
            forwarder.abort();
        }
        self.reply(ServerFrame::Removed { room }).await
    }

    async fn subscribe(&mut self, room: RoomId, after_seq: u64) -> Result<(), Option<Closing>> {
        if !self.may_see("subscribe", room).await? {
            return self.reply(ServerFrame::error(ErrorCode::NotFound, "no such room")).await;
        }
        if let Some((_, old)) = self.rooms.remove(&room) {
            old.abort();
        }
        let mut subscription = self.state.bus.subscribe(Topic::Room(room));
        let tx = self.live_tx.clone();
        let me = self.user.id;
        let forwarder = tokio::spawn(async move {
            loop {
                let event = match subscription.recv().await {
                    Ok(event) => match event.as_ref() {
                        RoomEvent::AccessRevoked { user, .. } if *user == me => {
                            let _ = tx.send(Live::Revoked(room)).await;
                            return;
                        }
                        // Site news is published to the site's topic, never a room's.
                        RoomEvent::AccessRevoked { .. } | RoomEvent::Opened { .. } => continue,
                        RoomEvent::Typing { user, .. } if user.id == me => continue,
                        // Someone's own read markers too: their other devices clear their counts.
                        RoomEvent::Message(_)
                        | RoomEvent::Updated(_)
                        | RoomEvent::Typing { .. }
                        | RoomEvent::Read { .. } => Live::Message(event),
                    },
                    Err(RecvError::Lagged(_)) => Live::Lagged,
                    Err(RecvError::Closed) => return,
                };
                let lagged = matches!(event, Live::Lagged);
                // A full queue means this client reads slower than the room talks.
                if tx.try_send(event).is_err() {
                    let _ = tx.send(Live::Lagged).await;
                    return;
                }
                if lagged {
                    return;
                }
            }
        });
        self.rooms.insert(room, (after_seq, forwarder));
        self.replay(room, after_seq).await
    }

    async fn replay(&mut self, room: RoomId, mut after: u64) -> Result<(), Option<Closing>> {
        loop {
            let page = self
                .state
                .store
                .interact(move |conn| {
                    palisade_store::messages::page(conn, &room, Cursor::After(after), HISTORY_PAGE_MAX)
                })
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "replay failed");
                    Some(Closing::ServerError)
                })?;
            let (messages, has_more) = page;
            for message in messages {
                after = message.seq;
                self.deliver(&message_view(&self.state.sealer, message)).await?;
            }
            if !has_more {
                return Ok(());
            }
        }
    }

    /// Writes a frame of a room's stream; a client that leaves it unread for
    /// [`WRITE_STALL_LIMIT`] is a slow consumer.
    async fn write(&mut self, frame: ServerFrame) -> Result<(), Option<Closing>> {
        match tokio::time::timeout(WRITE_STALL_LIMIT, send(&mut self.socket, &frame)).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(None),
            Err(_) => Err(Some(Closing::SlowConsumer)),
        }
    }

    /// Delivers a message from the bus. Two connections can store a room's messages n and n+1
    /// and publish them in the other order, so one past the next expected seq is not sent as
    /// is: the gap is filled from storage, which holds everything up to it by then, and the
    /// late one is skipped as delivered when it comes.
    async fn deliver_live(&mut self, message: &MessageView) -> Result<(), Option<Closing>> {
        let Some((delivered, _)) = self.rooms.get(&message.room) else { return Ok(()) };
        if message.seq > delivered.saturating_add(1) {
            let after = *delivered;
            return self.replay(message.room, after).await;
        }
        self.deliver(message).await
    }

    /// Sends `message` unless this subscription already delivered it.
    async fn deliver(&mut self, message: &MessageView) -> Result<(), Option<Closing>> {
        let Some((delivered, _)) = self.rooms.get_mut(&message.room) else { return Ok(()) };
        if message.seq <= *delivered {
            return Ok(());
        }
        *delivered = message.seq;
        self.write(ServerFrame::Message(message.clone())).await
    }

    /// Sends an edit or deletion of a message in a subscribed room. Unlike new messages these
    /// are not skipped by seq: they replace a message the client may already hold, and applying
    /// one twice changes nothing.
    async fn deliver_update(&mut self, message: &MessageView) -> Result<(), Option<Closing>> {
        if !self.rooms.contains_key(&message.room) {
            return Ok(());
        }
        self.write(ServerFrame::Updated(message.clone())).await
    }

    /// Passes a typing notice on to the room, at most one per [`TYPING_EVERY_SECS`]: only in a
    /// room this connection subscribed to, whose access was checked then (and a removal since
    /// has unsubscribed it), so notices cost no database work.
    async fn typing(&mut self, room: RoomId) -> Result<(), Option<Closing>> {
        if !self.rooms.contains_key(&room) {
            return self.reply(ServerFrame::error(ErrorCode::NotFound, "subscribe to the room first")).await;
        }
        let now = Instant::now();
        let every = Duration::from_secs(TYPING_EVERY_SECS);
        if self.typing.get(&room).is_some_and(|last| now.duration_since(*last) < every) {
            return Ok(());
        }
        self.typing.insert(room, now);
        self.state.bus.publish(RoomEvent::Typing { room, user: self.user.clone() });
        Ok(())
    }

    async fn deliver_typing(&mut self, room: RoomId, user: &Author) -> Result<(), Option<Closing>> {
        if !self.rooms.contains_key(&room) {
            return Ok(());
        }
        self.write(ServerFrame::Typing { room, user: user.clone() }).await
    }

    async fn deliver_read(&mut self, room: RoomId, user: UserId, seq: u64) -> Result<(), Option<Closing>> {
        if !self.rooms.contains_key(&room) {
            return Ok(());
        }
        self.write(ServerFrame::Read { room, user, seq }).await
    }

    async fn send_message(
        &mut self,
        room: RoomId,
        client_id: ClientMessageId,
        body: String,
    ) -> Result<(), Option<Closing>> {
        let refuse = |error, message: String| ServerFrame::Error { error, message, client_id: Some(client_id) };
        if let Err(limit) = check_message_body(&body) {
            return self.reply(refuse(ErrorCode::ValidationFailed, limit.to_string())).await;
        }
        // Per account, so several sockets of one person share one allowance.
        if let Err(refused) = self.state.send_limiter.check_key(&self.user.id) {
            let message = format!("sending too fast; retry in {} s", refused.wait);
            return self.reply(refuse(ErrorCode::RateLimited, message)).await;
        }
        if !self.may_see("send_message", room).await? {
            return self.reply(refuse(ErrorCode::NotFound, "no such room".into())).await;
        }
        let id = MessageId(uuid::Uuid::new_v4());
        let sealed = match self.state.sealer.seal_body(&id, &room, &body) {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::error!(error = %e, "sealing a message failed");
                return self.reply(refuse(ErrorCode::Internal, "the message was not stored; retry".into())).await;
            }
        };
        let queued = QueuedMessage {
            id,
            room,
            author: self.user.id,
            author_name: self.user.display_name.clone(),
            client_id,
            body: sealed,
        };
        let appended = self.state.appender.append(queued).await;
        let appended = match appended {
            Ok(appended) => appended,
            Err(e) => {
                tracing::error!(error = %e, "storing a message failed");
                return self.reply(refuse(ErrorCode::Internal, "the message was not stored; retry".into())).await;
            }
        };
        let (id, seq) = (appended.message().id, appended.message().seq);
        // Published before the Ack is written, so a sender whose socket dies now still has its
        // message delivered live; a retry is published again, since the first attempt may have
        // died before publishing (subscribers skip a seq they already have). This connection
        // handles its own live events only after this returns, so it still sees the Ack first.
        let message = match appended {
            Appended::New(message) => {
                self.state.metrics.message_sent();
                message
            }
            Appended::Duplicate(message) => message,
        };
        self.state.bus.publish(RoomEvent::Message(message_view(&self.state.sealer, message)));
        // The Ack goes out only now that the message is committed.
        self.reply(ServerFrame::Ack { client_id, id, seq }).await
    }
}
