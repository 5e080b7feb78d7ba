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
use palisade_bus::RecvError;
use palisade_protocol::limits::{HISTORY_PAGE_MAX, WS_AUTH_TIMEOUT_SECS, check_message_body};
use palisade_protocol::messages::{Author, MessageView};
use palisade_protocol::ws::{ClientFrame, ServerFrame};
use palisade_protocol::{ClientMessageId, ErrorCode, MessageId, RoomId};
use palisade_store::messages::{Appended, Cursor, NewMessage};
use palisade_store::{rooms, sites, users};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::routes::rooms::message_view;
use palisade_auth::AccessClaims;

const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// How often an open socket re-checks that its session is live, so that logout, a password
/// change or ending the session elsewhere closes it within seconds, on any instance.
const SESSION_CHECK_EVERY: Duration = Duration::from_secs(3);
const IDLE_LIMIT: Duration = Duration::from_secs(45);
/// Live events buffered per connection before it counts as a slow consumer.
const OUTBOUND_QUEUE: usize = 256;

/// Why the server ends a connection; sent as the close frame's reason.
#[derive(Debug, Clone, Copy)]
enum Closing {
    AuthTimeout,
    AuthFailed,
    ProtocolViolation,
    SlowConsumer,
    Idle,
    SessionEnded,
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
            Self::ServerError => (CloseCode::Error, "server_error"),
        };
        CloseReason { code, description: Some(text.to_owned()) }
    }
}

/// An event for the connection from one of its room forwarders.
enum Live {
    Message(Arc<MessageView>),
    Lagged,
}

struct Connection {
    state: Arc<AppState>,
    site: sites::Site,
    socket: Session,
    user: Author,
    /// Highest seq delivered per subscribed room, and the task forwarding its live events.
    rooms: HashMap<RoomId, (u64, JoinHandle<()>)>,
    live_tx: mpsc::Sender<Live>,
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

fn parse(text: &str) -> Result<ClientFrame, ServerFrame> {
    serde_json::from_str(text).map_err(|e| {
        let message = if e.to_string().starts_with("unknown variant") {
            format!("unknown frame type: {e}")
        } else {
            format!("the frame is not valid: {e}")
        };
        ServerFrame::error(ErrorCode::MalformedRequest, message)
    })
}

/// Drives one connection to its end.
pub async fn run(state: Arc<AppState>, site: sites::Site, mut socket: Session, mut stream: AggregatedMessageStream) {
    let deadline = Duration::from_secs(WS_AUTH_TIMEOUT_SECS);
    let (user, claims) =
        match tokio::time::timeout(deadline, authenticate(&state, &site, &mut socket, &mut stream)).await {
            Ok(Ok(authenticated)) => authenticated,
            Ok(Err(why)) => return close(socket, why).await,
            Err(_) => {
                send(&mut socket, &ServerFrame::error(ErrorCode::AuthTimeout, "send an auth frame first")).await;
                return close(socket, Closing::AuthTimeout).await;
            }
        };
    if !send(&mut socket, &ServerFrame::Ready { user: user.clone() }).await {
        return;
    }
    let _open = state.metrics.socket_opened();
    let (live_tx, mut live_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let mut conn = Connection { state, site, socket, user, rooms: HashMap::new(), live_tx };
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    let mut session_check = tokio::time::interval(SESSION_CHECK_EVERY);
    let mut last_heard = Instant::now();
    let ending = loop {
        tokio::select! {
            incoming = stream.next() => {
                let Some(Ok(message)) = incoming else { break None };
                last_heard = Instant::now();
                match message {
                    AggregatedMessage::Text(text) => {
                        if let Err(why) = conn.on_frame(&text).await {
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
                Some(Live::Message(message)) => {
                    if !conn.deliver(&message).await { break None; }
                }
                Some(Live::Lagged) => break Some(Closing::SlowConsumer),
                None => break Some(Closing::ServerError),
            },
            _ = session_check.tick() => {
                match crate::sessions::live(&conn.state, &claims).await {
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
        Err(frame) => {
            send(socket, &frame).await;
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
        match parse(text) {
            Err(frame) => self.reply(frame).await,
            Ok(ClientFrame::Auth { .. }) => {
                self.reply(ServerFrame::error(ErrorCode::UnexpectedFrame, "already authenticated")).await
            }
            Ok(ClientFrame::Subscribe { room, after_seq }) => self.subscribe(room, after_seq).await,
            Ok(ClientFrame::Send { room, client_id, body }) => self.send_message(room, client_id, body).await,
        }
    }

    async fn room_in_site(&self, room: RoomId) -> Result<bool, Option<Closing>> {
        let site_id = self.site.id;
        self.state
            .store
            .interact(move |conn| rooms::find_in_site(conn, &site_id, &room).map(|r| r.is_some()))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "room lookup failed");
                Some(Closing::ServerError)
            })
    }

    async fn subscribe(&mut self, room: RoomId, after_seq: u64) -> Result<(), Option<Closing>> {
        if !self.room_in_site(room).await? {
            tracing::info!(event = "authz_fail", user = %self.user.id, %room, "subscribe to a room outside the site");
            return self.reply(ServerFrame::error(ErrorCode::NotFound, "no such room")).await;
        }
        if let Some((_, old)) = self.rooms.remove(&room) {
            old.abort();
        }
        let mut subscription = self.state.bus.subscribe(room);
        let tx = self.live_tx.clone();
        let forwarder = tokio::spawn(async move {
            loop {
                let event = match subscription.recv().await {
                    Ok(message) => Live::Message(message),
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
                if !self.deliver(&message_view(&self.state.sealer, message)).await {
                    return Err(None);
                }
            }
            if !has_more {
                return Ok(());
            }
        }
    }

    /// Sends `message` unless this subscription already delivered it; false if the socket died.
    async fn deliver(&mut self, message: &MessageView) -> bool {
        let Some((delivered, _)) = self.rooms.get_mut(&message.room) else { return true };
        if message.seq <= *delivered {
            return true;
        }
        *delivered = message.seq;
        send(&mut self.socket, &ServerFrame::Message(message.clone())).await
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
        if let Err(wait) = self.state.send_limiter.check_key(&self.user.id) {
            return self.reply(refuse(ErrorCode::RateLimited, format!("sending too fast; retry in {wait} s"))).await;
        }
        if !self.room_in_site(room).await? {
            tracing::info!(event = "authz_fail", user = %self.user.id, %room, "send to a room outside the site");
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
        let (author, name) = (self.user.id, self.user.display_name.clone());
        let appended = self
            .state
            .store
            .interact(move |conn| {
                let new = NewMessage { id, room, author, author_name: &name, client_id, body: &sealed };
                palisade_store::messages::append(conn, &new)
            })
            .await;
        let appended = match appended {
            Ok(appended) => appended,
            Err(e) => {
                tracing::error!(error = %e, "storing a message failed");
                return self.reply(refuse(ErrorCode::Internal, "the message was not stored; retry".into())).await;
            }
        };
        let stored = appended.message();
        // The Ack goes out only now that the message is committed.
        self.reply(ServerFrame::Ack { client_id, id: stored.id, seq: stored.seq }).await?;
        if let Appended::New(message) = appended {
            self.state.metrics.message_sent();
            self.state.bus.publish(message_view(&self.state.sealer, message));
        }
        Ok(())
    }
}
