//! The state of a signed-in conversation and the actions on it: listing and opening rooms,
//! loading history, sending, retrying, read markers and typing notices. Components read these
//! signals; only this module and the socket write them.
//!
//! Everything here is created once with the app and never disposed, so the asynchronous tasks
//! that outlive a component (loading, the socket loop) can always write to it.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::auth::TokenResponse;
use palisade_protocol::limits::check_message_body;
use palisade_protocol::messages::{Author, MessageView};
use palisade_protocol::rooms::RoomSummary;
use palisade_protocol::{ClientMessageId, ErrorCode, MessageId, RoomId, UserId};

use crate::api::{self, ApiError, Reader};
use crate::auth;
use crate::browser;
use crate::config::Config;
use crate::error_text;
use crate::i18n::t;
use crate::presence::Online;
use crate::rooms::Rooms;
use crate::seen;
use crate::session::{AccessToken, Session};
use crate::socket::{ConnectionState, Request, Socket};
use crate::timeline::{Row, Timeline};
use crate::typing::{self, Typing};

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
    /// The rooms the person can see, the open one, and what is unread in each.
    pub rooms: RwSignal<Rooms>,
    /// The open room's messages, once loaded.
    pub timeline: RwSignal<Timeline>,
    /// Which room `timeline` holds; `None` while the open room's history is loading.
    shown: StoredValue<Option<RoomId>>,
    /// Rooms opened earlier in this sign-in, kept (and kept current by the socket) so that
    /// going back to one shows it at once and its unsent messages are still sent.
    parked: StoredValue<Vec<(RoomId, Timeline)>>,
    /// The open room's members and how far each has read, for "seen by".
    pub readers: RwSignal<Vec<Reader>>,
    /// Who else is typing in the open room.
    pub typing: RwSignal<Typing>,
    /// Who on the site is online, for the dot beside a direct or support conversation.
    pub online: RwSignal<Online>,
    /// When this person's last typing notice went out.
    typing_sent: StoredValue<Option<i64>>,
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
            rooms: RwSignal::new(Rooms::default()),
            timeline: RwSignal::new(Timeline::default()),
            shown: StoredValue::new(None),
            parked: StoredValue::new(Vec::new()),
            readers: RwSignal::new(Vec::new()),
            typing: RwSignal::new(Typing::default()),
            online: RwSignal::new(Online::default()),
            typing_sent: StoredValue::new(None),
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

    /// The open room, tracked.
    pub fn room(&self) -> Option<RoomSummary> {
        self.rooms.with(|rooms| rooms.selected().cloned())
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

    /// (Re)loads the room list and the open room's newest history, and connects. Also the
    /// retry action.
    pub fn open_room(&self) {
        if self.session.token().is_none() {
            return;
        }
        let generation = self.generation.get_value();
        let chat = *self;
        self.phase.set(Phase::Loading);
        spawn_local(async move {
            match chat.fetch_rooms(generation).await {
                Ok(()) => {
                    match chat.rooms.with_untracked(Rooms::selected_id) {
                        // No room yet: the list offers to start one.
                        None => chat.phase.set(Phase::Ready),
                        Some(room) if chat.shown.get_value() == Some(room) => chat.phase.set(Phase::Ready),
                        Some(room) => chat.show(room, false),
                    }
                    if chat.socket.with_value(Option::is_none) {
                        let socket = Socket::start(chat, chat.config().ws_url(), generation);
                        chat.socket.set_value(Some(socket));
                    }
                }
                Err(Some(err)) => chat.load_failed(err),
                Err(None) => {}
            }
        });
    }

    /// Asks the server for the room list again: rooms started by others since (a new support
    /// request, for staff) appear, and counts are corrected. Failures leave the list as it is.
    pub fn refresh_rooms(&self) {
        let generation = self.generation.get_value();
        let chat = *self;
        spawn_local(async move {
            if chat.fetch_rooms(generation).await.is_ok() {
                // The open room may be gone (the person was removed from it meanwhile).
                if let Some(room) = chat.rooms.with_untracked(Rooms::selected_id) {
                    chat.show(room, false);
                }
            }
        });
    }

    /// `Err(None)` when the answer came for an earlier sign-in.
    async fn fetch_rooms(self, generation: u64) -> Result<(), Option<ApiError>> {
        let list = match auth::token(self).await {
            Ok(token) => api::rooms(&self.config(), &token).await,
            Err(err) => Err(err),
        };
        if !self.is_current(generation) {
            return Err(None);
        }
        let list = list.map_err(Some)?;
        self.rooms.update(|rooms| {
            rooms.replace(list.rooms);
        });
        self.request(Request::Watch);
        Ok(())
    }

    /// Opens a room from the list.
    pub fn select_room(&self, room: RoomId) {
        if self.rooms.try_update(|rooms| rooms.select(room)) == Some(true) {
            self.show(room, false);
        }
    }

    /// Starts a new support conversation and opens it. Returns why not, for the person.
    pub async fn start_support(self) -> Result<(), String> {
        let generation = self.generation.get_value();
        let created = match auth::token(self).await {
            Ok(token) => api::start_support(&self.config(), &token).await,
            Err(err) => Err(err),
        };
        if !self.is_current(generation) {
            return Err(String::new());
        }
        match created {
            Ok(room) => {
                let id = room.id;
                self.rooms.update(|rooms| rooms.open_new(room));
                self.show(id, true);
                Ok(())
            }
            Err(err) if err.code() == Some(ErrorCode::MfaEnrolmentRequired) => {
                self.require_mfa();
                Err(err.user_message())
            }
            Err(err) => Err(err.user_message()),
        }
    }

    /// Puts `room`'s messages on screen: kept ones at once, else (unless it is known to be
    /// `empty`) its newest history first. Either way the socket then subscribes to it from the
    /// newest message held, so whatever arrived meanwhile is replayed.
    fn show(&self, room: RoomId, empty: bool) {
        let previous = self.shown.get_value();
        if previous == Some(room) {
            return;
        }
        let current = self.timeline.try_update(std::mem::take).unwrap_or_default();
        if let Some(previous) = previous {
            self.parked.update_value(|parked| {
                parked.push((previous, current));
            });
        }
        self.readers.set(Vec::new());
        self.load_readers(room);
        self.typing.set(Typing::default());
        self.typing_sent.set_value(None);
        self.loading_earlier.set(false);
        self.error.set(None);
        let kept = self
            .parked
            .try_update_value(|parked| {
                let index = parked.iter().position(|(parked, _)| *parked == room)?;
                Some(parked.swap_remove(index).1)
            })
            .flatten();
        match kept.or_else(|| empty.then(Timeline::default)) {
            Some(timeline) => {
                self.shown.set_value(Some(room));
                self.timeline.set(timeline);
                self.phase.set(Phase::Ready);
                self.request(Request::Subscribe(room));
            }
            None => {
                self.shown.set_value(None);
                self.phase.set(Phase::Loading);
                let generation = self.generation.get_value();
                let chat = *self;
                spawn_local(async move { chat.load_history(room, generation).await });
            }
        }
    }

    async fn load_history(self, room: RoomId, generation: u64) {
        let page = match auth::token(self).await {
            Ok(token) => api::history(&self.config(), &token, room, None).await,
            Err(err) => Err(err),
        };
        // Another room was opened meanwhile: this page is not wanted any more.
        let wanted = self.rooms.with_untracked(Rooms::selected_id) == Some(room) && self.shown.get_value().is_none();
        if !self.is_current(generation) || !wanted {
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
        self.shown.set_value(Some(room));
        self.phase.set(Phase::Ready);
        // Subscribing before the history is in would replay the whole room.
        self.request(Request::Subscribe(room));
    }

    /// Fetches how far `room`'s members have read. Failures only leave "seen by" out.
    fn load_readers(&self, room: RoomId) {
        let generation = self.generation.get_value();
        let chat = *self;
        spawn_local(async move {
            let list = match auth::token(chat).await {
                Ok(token) => api::members(&chat.config(), &token, room).await,
                Err(err) => Err(err),
            };
            let wanted = chat.rooms.with_untracked(Rooms::selected_id) == Some(room);
            if let (Ok(mut list), true) = (list, wanted && chat.is_current(generation)) {
                chat.readers.update(|readers| {
                    // A `read` frame that came while the list was on its way may be newer.
                    for known in readers.iter() {
                        seen::read(&mut list.members, known.user.id, known.read_seq);
                    }
                    *readers = list.members;
                });
            }
        });
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
        let Some(room) = self.shown.get_value() else {
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
                Ok(token) => api::history(&chat.config(), &token, room, Some(before)).await,
                Err(err) => Err(err),
            };
            if !chat.is_current(generation) || chat.shown.get_value() != Some(room) {
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

    /// Everything up to `seq` in the open room is on screen: mark it read, here at once and
    /// on the server (which tells the person's other devices through the next list).
    pub fn mark_read(&self, seq: u64) {
        let Some(room) = self.shown.get_value() else {
            return;
        };
        let Some(Some(seq)) = self.rooms.try_update(|rooms| rooms.read_up_to(room, seq)) else {
            return;
        };
        let chat = *self;
        spawn_local(async move {
            let result = match auth::token(chat).await {
                Ok(token) => api::mark_read(&chat.config(), &token, room, seq).await,
                Err(err) => Err(err),
            };
            // The count here is already right; the next list brings the server's marker.
            if let Err(err) = result {
                browser::log_warning(&format!("Palisade: a read marker was not stored ({})", err.user_message()));
            }
        });
    }

    /// The person typed in the open room: the others hear of it at most every few seconds.
    pub fn typed(&self) {
        let Some(room) = self.shown.get_value() else {
            return;
        };
        let now = browser::now().as_millis();
        if typing::due(self.typing_sent.get_value(), now) {
            self.typing_sent.set_value(Some(now));
            self.request(Request::Typing(room));
        }
    }

    /// Queues `body` for sending to the open room. It shows as pending at once, and is sent
    /// now or as soon as the connection is back. Returns the reason when the body is not
    /// acceptable.
    pub fn send(&self, body: &str) -> Result<(), String> {
        check_message_body(body).map_err(|err| error_text::for_limit(&err))?;
        if self.shown.get_value().is_none() {
            return Err(t().not_open_yet.to_owned());
        }
        let Some(client_id) = browser::new_client_id() else {
            return Err(t().no_crypto.to_owned());
        };
        self.timeline.update(|timeline| timeline.push_outgoing(client_id, body.to_owned(), browser::now()));
        self.error.set(None);
        // What was typed is sent: a later keystroke is news again.
        self.typing_sent.set_value(None);
        self.request(Request::Send(client_id));
        Ok(())
    }

    pub fn retry(&self, client_id: ClientMessageId) {
        if self.timeline.try_update(|timeline| timeline.retry(client_id)) == Some(true) {
            self.request(Request::Send(client_id));
        }
    }

    pub fn discard(&self, client_id: ClientMessageId) {
        self.timeline.update(|timeline| timeline.discard(client_id));
    }

    /// Replaces the text of one of the person's own messages in the open room. Returns whether
    /// it was stored; why not is shown as the chat's error.
    pub async fn edit(self, id: MessageId, body: String) -> bool {
        if let Err(err) = check_message_body(&body) {
            self.error.set(Some(error_text::for_limit(&err)));
            return false;
        }
        let edited = self
            .change_message(async |config, token, room| api::edit_message(&config, &token, room, id, body).await)
            .await;
        let Some((room, view)) = edited else {
            return false;
        };
        // Shown now: the socket's copy of the change may come later, or (offline) not at all.
        self.with_loaded(room, |t| t.insert(view));
        true
    }

    /// Deletes one of the person's own messages in the open room; see [`Chat::edit`].
    pub async fn delete(self, id: MessageId) -> bool {
        let deleted =
            self.change_message(async |config, token, room| api::delete_message(&config, &token, room, id).await).await;
        let Some((room, ())) = deleted else {
            return false;
        };
        self.with_loaded(room, |t| t.delete(id));
        true
    }

    /// Runs `call` on the open room with a fresh token. A refusal is shown as the chat's error;
    /// `None` then, and when the sign-in ended meanwhile.
    async fn change_message<T>(
        self,
        call: impl AsyncFnOnce(Config, AccessToken, RoomId) -> Result<T, ApiError>,
    ) -> Option<(RoomId, T)> {
        let room = self.shown.get_value()?;
        let generation = self.generation.get_value();
        let result = match auth::token(self).await {
            Ok(token) => call(self.config(), token, room).await,
            Err(err) => Err(err),
        };
        if !self.is_current(generation) {
            return None;
        }
        match result {
            Ok(value) => {
                self.error.set(None);
                Some((room, value))
            }
            Err(err) => {
                if err.code() == Some(ErrorCode::MfaEnrolmentRequired) {
                    self.require_mfa();
                } else {
                    self.error.set(Some(err.user_message()));
                }
                None
            }
        }
    }

    fn request(&self, request: Request) {
        self.socket.with_value(|socket| {
            if let Some(socket) = socket {
                socket.request(request);
            }
        });
    }

    // What the socket needs: every loaded room's messages, wherever they are kept.

    /// The newest message held for `room`, if its messages are loaded (open or parked).
    fn held(&self, room: RoomId) -> Option<u64> {
        if self.shown.get_value() == Some(room) {
            Some(self.timeline.with_untracked(Timeline::highest_seq))
        } else {
            self.parked.with_value(|parked| parked.iter().find(|(r, _)| *r == room).map(|(_, t)| t.highest_seq()))
        }
    }

    /// Runs `f` on `room`'s messages if they are loaded (open or parked).
    fn with_loaded<R>(&self, room: RoomId, f: impl FnOnce(&mut Timeline) -> R) -> Option<R> {
        if self.shown.get_value() == Some(room) {
            self.timeline.try_update(f)
        } else {
            self.parked
                .try_update_value(|parked| parked.iter_mut().find(|(r, _)| *r == room).map(|(_, t)| f(t)))
                .flatten()
        }
    }

    /// Where the socket should follow each watched room from: the newest message held for a
    /// loaded room, the room's last known `seq` for the others (only counts matter there).
    pub fn subscriptions(&self) -> Vec<(RoomId, u64)> {
        let watched = self.rooms.with_untracked(Rooms::watched);
        watched.into_iter().map(|(room, last_seq)| (room, self.held(room).unwrap_or(last_seq))).collect()
    }

    /// The newest message held for `room`, or its last known `seq`.
    pub fn subscribe_from(&self, room: RoomId) -> u64 {
        self.held(room).or_else(|| self.rooms.with_untracked(|rooms| rooms.get(room).map(|r| r.last_seq))).unwrap_or(0)
    }

    /// A message (new, replayed or changed) arrived.
    pub fn received(&self, view: MessageView, edit: bool) {
        let (room, seq, author) = (view.room, view.seq, view.author.id);
        if !edit {
            self.rooms.maybe_update(|rooms| rooms.saw(room, seq));
            if self.shown.get_value() == Some(room) {
                self.typing.maybe_update(|typing| typing.stopped(author));
            }
        }
        self.with_loaded(room, |t| t.insert(view));
    }

    /// Takes the site's online list afresh: the socket is (again) ready, and presence frames
    /// from before it came are lost.
    pub fn refresh_presence(&self) {
        let generation = self.generation.get_value();
        let chat = *self;
        self.online.update(Online::fetch_started);
        spawn_local(async move {
            let list = match auth::token(chat).await {
                Ok(token) => api::presence(&chat.config(), &token).await,
                Err(err) => Err(err),
            };
            if !chat.is_current(generation) {
                return;
            }
            match list {
                Ok(list) => chat.online.update(|online| online.fetched(list.online.into_iter().map(|user| user.id))),
                Err(_) => chat.online.update(Online::fetch_failed),
            }
        });
    }

    pub fn someone_online(&self, user: UserId, online: bool) {
        self.online.update(|known| known.changed(user, online));
    }

    /// `user` has read `room` up to `seq`.
    pub fn someone_read(&self, room: RoomId, user: UserId, seq: u64) {
        if self.session.user_untracked().is_some_and(|me| me.id == user) {
            // Read on another of the person's devices: the count here goes down too.
            self.rooms.maybe_update(|rooms| rooms.read_up_to(room, seq).is_some());
        }
        if self.rooms.with_untracked(Rooms::selected_id) != Some(room) {
            return;
        }
        if self.readers.try_update(|readers| seen::read(readers, user, seq)) == Some(false) {
            self.load_readers(room);
        }
    }

    pub fn someone_typing(&self, room: RoomId, user: &Author) {
        if self.shown.get_value() != Some(room) {
            return;
        }
        self.typing.update(|typing| typing.saw(user, browser::now().as_millis()));
        let typing = self.typing;
        set_timeout(
            move || {
                typing.maybe_update(|typing| typing.expire(browser::now().as_millis()));
            },
            Duration::from_millis(u64::try_from(typing::SHOW_FOR_MILLIS).unwrap_or(5_000) + 50),
        );
    }

    pub fn lost_room(&self, room: RoomId) {
        if self.shown.get_value() == Some(room) {
            self.error.set(Some(t().no_longer_in_room.into()));
        }
        self.rooms.update(|rooms| rooms.remove(room));
    }

    /// The room and body of `client_id` while it waits to be sent.
    pub fn pending(&self, client_id: ClientMessageId) -> Option<(RoomId, String)> {
        let body = |t: &Timeline| t.pending_body(client_id).map(str::to_owned);
        let open = self.shown.get_value().and_then(|room| Some((room, self.timeline.with_untracked(body)?)));
        open.or_else(|| self.parked.with_value(|parked| parked.iter().find_map(|(room, t)| Some((*room, body(t)?)))))
    }

    /// Everything to (re-)send after a connection is authenticated, per room, oldest first.
    pub fn unacknowledged(&self) -> Vec<(RoomId, ClientMessageId, String)> {
        let mut all = Vec::new();
        let mut add = |room: RoomId, t: &Timeline| {
            all.extend(t.unacknowledged().into_iter().map(|(id, body)| (room, id, body)));
        };
        if let Some(room) = self.shown.get_value() {
            self.timeline.with_untracked(|t| add(room, t));
        }
        self.parked.with_value(|parked| parked.iter().for_each(|(room, t)| add(*room, t)));
        all
    }

    /// The server stored `client_id` as `id` at `seq`.
    pub fn acknowledged(&self, client_id: ClientMessageId, id: MessageId, seq: u64) {
        let me = self.session.user_untracked();
        let ack = |t: &mut Timeline| t.acknowledge(client_id, id, seq, me.as_ref());
        if self.timeline.try_update(ack) != Some(true) {
            self.parked.update_value(|parked| {
                parked.iter_mut().any(|(_, t)| ack(t));
            });
        }
    }

    /// The server refused to store `client_id`.
    pub fn refused(&self, client_id: ClientMessageId, reason: String) {
        if self.timeline.try_update(|t| t.fail(client_id, reason.clone())) != Some(true) {
            self.parked.update_value(|parked| {
                parked.iter_mut().any(|(_, t)| t.fail(client_id, reason.clone()));
            });
        }
    }

    /// Which sign-in this is; see [`Chat::is_current`].
    pub fn generation(&self) -> u64 {
        self.generation.get_value()
    }

    pub fn is_current(&self, generation: u64) -> bool {
        self.generation.get_value() == generation
    }

    /// Drops the socket (which ends its task) and forgets the conversations.
    fn reset(&self) {
        self.generation.update_value(|generation| *generation = generation.wrapping_add(1));
        self.socket.set_value(None);
        self.rooms.set(Rooms::default());
        self.timeline.set(Timeline::default());
        self.shown.set_value(None);
        self.parked.set_value(Vec::new());
        self.readers.set(Vec::new());
        self.typing.set(Typing::default());
        self.typing_sent.set_value(None);
        self.phase.set(Phase::Loading);
        self.connection.set(ConnectionState::Connecting);
        self.error.set(None);
        self.loading_earlier.set(false);
    }
}
