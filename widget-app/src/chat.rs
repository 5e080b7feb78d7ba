//! The state of a signed-in conversation and the actions on it: opening the room, loading
//! history, sending, retrying. Components read these signals; only this module and the socket
//! write them.
//!
//! Everything here is created once with the app and never disposed, so the asynchronous tasks
//! that outlive a component (loading, the socket loop) can always write to it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::auth::TokenResponse;
use palisade_protocol::limits::check_message_body;
use palisade_protocol::rooms::RoomSummary;
use palisade_protocol::{ClientMessageId, ErrorCode};

use crate::api::{self, ApiError};
use crate::auth;
use crate::browser;
use crate::config::Config;
use crate::error_text;
use crate::session::Session;
use crate::socket::{ConnectionState, Socket};
use crate::timeline::{Row, Timeline};

/// Where opening the conversation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Loading,
    Ready,
    Failed(String),
}

#[derive(Debug, Clone, Copy)]
pub struct Chat {
    config: StoredValue<Config>,
    pub session: Session,
    pub room: RwSignal<Option<RoomSummary>>,
    pub timeline: RwSignal<Timeline>,
    pub phase: RwSignal<Phase>,
    pub connection: RwSignal<ConnectionState>,
    /// The latest problem worth telling the person about, shown near the composer.
    pub error: RwSignal<Option<String>>,
    pub loading_earlier: RwSignal<bool>,
    socket: StoredValue<Option<Socket>>,
    /// Bumped on every sign-in and sign-out so a task from an earlier session gives up.
    generation: StoredValue<u64>,
}

impl Chat {
    pub fn new(config: Config) -> Self {
        Self {
            config: StoredValue::new(config),
            session: Session::new(),
            room: RwSignal::new(None),
            timeline: RwSignal::new(Timeline::default()),
            phase: RwSignal::new(Phase::Loading),
            connection: RwSignal::new(ConnectionState::Connecting),
            error: RwSignal::new(None),
            loading_earlier: RwSignal::new(false),
            socket: StoredValue::new(None),
            generation: StoredValue::new(0),
        }
    }

    pub fn config(&self) -> Config {
        self.config.get_value()
    }

    pub fn rows(&self) -> Vec<Row> {
        let me = self.session.user().map(|user| user.id);
        self.timeline.with(|timeline| timeline.rows(me))
    }

    /// Shows the conversation of a new session and keeps its token fresh.
    pub fn sign_in(&self, token: TokenResponse) {
        self.reset();
        self.session.sign_in(token, browser::now().as_millis());
        auth::keep_fresh(*self);
        if !self.session.is_mfa_required_untracked() {
            self.open_room();
        }
    }

    /// The server says this session must set up a second factor first (in a token, a refused
    /// request or the socket): the conversation and its connection are dropped, the set-up shown.
    pub fn require_mfa(&self) {
        if self.session.token().is_none() || self.session.is_mfa_required_untracked() {
            return;
        }
        self.reset();
        self.session.set_mfa_required(true);
        // `reset` ended the renewal loop of the old generation.
        auth::keep_fresh(*self);
    }

    /// The second factor is set up and its recovery codes seen: the same session may now chat.
    pub fn mfa_enrolled(&self) {
        if self.session.is_mfa_required_untracked() {
            self.session.set_mfa_required(false);
            self.open_room();
        }
    }

    /// Forgets the session here only; [`auth::sign_out`] also ends it on the server.
    pub fn sign_out(&self, notice: Option<String>) {
        self.reset();
        self.session.sign_out(notice);
    }

    /// (Re)loads the room list and the newest history, then connects. Also the retry action.
    pub fn open_room(&self) {
        if self.session.token().is_none() {
            return;
        }
        let generation = self.generation.get_value();
        let chat = *self;
        self.phase.set(Phase::Loading);
        spawn_local(async move { chat.load(generation).await });
    }

    async fn load(self, generation: u64) {
        let config = self.config();
        let rooms = match auth::token(self).await {
            Ok(token) => api::rooms(&config, &token).await,
            Err(err) => Err(err),
        };
        if !self.is_current(generation) {
            return;
        }
        let room = match rooms {
            Ok(list) => match list.rooms.into_iter().next() {
                Some(room) => room,
                None => {
                    self.phase.set(Phase::Failed("There is no conversation on this site yet.".to_owned()));
                    return;
                }
            },
            Err(err) => return self.load_failed(err),
        };
        let room_id = room.id;
        let page = match auth::token(self).await {
            Ok(token) => api::history(&config, &token, room_id, None).await,
            Err(err) => Err(err),
        };
        if !self.is_current(generation) {
            return;
        }
        let page = match page {
            Ok(page) => page,
            Err(err) => return self.load_failed(err),
        };
        self.timeline.update(|timeline| {
            timeline.extend(page.messages);
            timeline.set_has_more_before(page.has_more);
        });
        self.room.set(Some(room));
        self.phase.set(Phase::Ready);
        // Only now: subscribing before history is in would replay the whole room.
        let socket = Socket::start(self, config.ws_url(), room_id, generation);
        self.socket.set_value(Some(socket));
    }

    fn load_failed(&self, err: ApiError) {
        if err.code() == Some(ErrorCode::Unauthenticated) {
            self.sign_out(Some(err.user_message()));
        } else if err.code() == Some(ErrorCode::MfaEnrolmentRequired) {
            self.require_mfa();
        } else {
            self.phase.set(Phase::Failed(err.user_message()));
        }
    }

    pub fn load_earlier(&self) {
        let Some(room) = self.room.get_untracked() else {
            return;
        };
        let Some(before) = self.timeline.with_untracked(Timeline::lowest_seq) else {
            return;
        };
        if self.loading_earlier.get_untracked() {
            return;
        }
        self.loading_earlier.set(true);
        let generation = self.generation.get_value();
        let chat = *self;
        spawn_local(async move {
            let page = match auth::token(chat).await {
                Ok(token) => api::history(&chat.config(), &token, room.id, Some(before)).await,
                Err(err) => Err(err),
            };
            if !chat.is_current(generation) {
                return;
            }
            chat.loading_earlier.set(false);
            match page {
                Ok(page) => chat.timeline.update(|timeline| {
                    timeline.extend(page.messages);
                    timeline.set_has_more_before(page.has_more);
                }),
                Err(err) if err.code() == Some(ErrorCode::MfaEnrolmentRequired) => chat.require_mfa(),
                Err(err) => chat.error.set(Some(err.user_message())),
            }
        });
    }

    /// Queues `body` for sending. It shows as pending at once, and is sent now or as soon as the
    /// connection is back. Returns the reason when the body is not acceptable.
    pub fn send(&self, body: &str) -> Result<(), String> {
        check_message_body(body).map_err(|err| error_text::for_limit(&err))?;
        if self.room.with_untracked(Option::is_none) {
            return Err("The conversation is not open yet.".to_owned());
        }
        let Some(client_id) = browser::new_client_id() else {
            return Err("This browser cannot create message ids (window.crypto is missing).".to_owned());
        };
        self.timeline.update(|timeline| timeline.push_outgoing(client_id, body.to_owned(), browser::now()));
        self.error.set(None);
        self.socket.with_value(|socket| {
            if let Some(socket) = socket {
                socket.send(client_id);
            }
        });
        Ok(())
    }

    pub fn retry(&self, client_id: ClientMessageId) {
        if self.timeline.try_update(|timeline| timeline.retry(client_id)) == Some(true) {
            self.socket.with_value(|socket| {
                if let Some(socket) = socket {
                    socket.send(client_id);
                }
            });
        }
    }

    pub fn discard(&self, client_id: ClientMessageId) {
        self.timeline.update(|timeline| timeline.discard(client_id));
    }

    /// Which sign-in this is; see [`Chat::is_current`].
    pub fn generation(&self) -> u64 {
        self.generation.get_value()
    }

    pub fn is_current(&self, generation: u64) -> bool {
        self.generation.get_value() == generation
    }

    /// Drops the socket (which ends its task) and forgets the conversation.
    fn reset(&self) {
        self.generation.update_value(|generation| *generation = generation.wrapping_add(1));
        self.socket.set_value(None);
        self.room.set(None);
        self.timeline.set(Timeline::default());
        self.phase.set(Phase::Loading);
        self.connection.set(ConnectionState::Connecting);
        self.error.set(None);
        self.loading_earlier.set(false);
    }
}
