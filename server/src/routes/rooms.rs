//! Rooms, for the signed-in caller's site only: listing, creating, and starting direct and
//! support conversations. Who is in a room is [`super::room_members`]', what is said in it
//! [`super::messages`]'.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use palisade_bus::{Audience, RoomEvent};
use palisade_protocol::limits;
use palisade_protocol::messages::Author;
use palisade_protocol::permissions::{self, Action};
use palisade_protocol::rooms::{CreateRoom, NamedRoomKind, RoomKind, RoomList, RoomSummary, StartDirect, StartSupport};
use palisade_protocol::{ErrorBody, ErrorCode, RoomId};
use palisade_store::members::Membership;
use palisade_store::rooms::{self, Room, SUPPORT_ROOM_NAME};
use palisade_store::{sites, users};
use uuid::Uuid;

use crate::app::AppState;
use crate::audit::Client;
use crate::authz::{self, Actor};
use crate::error::ApiError;
use crate::extract::Caller;

/// The caller's site and account, both still existing; a token for a deleted account or site
/// is no longer good for anything.
pub async fn caller_site(state: &AppState, caller: &Caller) -> Result<sites::Site, ApiError> {
    let (site_id, user) = (caller.0.site.clone(), caller.0.sub);
    state
        .store
        .interact(move |conn| {
            let Some(site) = sites::find_by_public_id(conn, &site_id)? else { return Ok(None) };
            Ok(users::find(conn, &site.id, &user)?.map(|_| site))
        })
        .await?
        .ok_or_else(ApiError::unauthenticated)
}

/// The caller as an [`Actor`] on their site, with their current role.
pub async fn actor_of(state: &AppState, caller: &Caller, req: &HttpRequest) -> Result<Actor, ApiError> {
    let site = caller_site(state, caller).await?;
    Actor::load(state, site.id, caller.0.sub, Client::of(req)).await?.ok_or_else(ApiError::unauthenticated)
}

/// The room as `role` sees it with `membership`: unread counts only where they are in it, except
/// that staff see every message of a support conversation nobody of them has joined as unread,
/// since nobody has answered it.
pub fn summary(room: Room, membership: Option<Membership>, counterpart: Option<Author>) -> RoomSummary {
    let joined = membership.is_some_and(|row| row.is_member());
    let read_seq = membership.map_or(0, |row| row.read_seq);
    let unread = if joined || room.kind == RoomKind::Support { room.last_seq.saturating_sub(read_seq) } else { 0 };
    RoomSummary {
        id: room.id,
        name: room.name,
        kind: room.kind,
        last_seq: room.last_seq,
        joined,
        read_seq,
        unread,
        counterpart,
    }
}

/// The rooms the caller can see on their site, with what is unread in each.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    responses((status = 200, body = RoomList), (status = 401, body = ErrorBody))
)]
#[get("/rooms")]
pub async fn list(state: web::Data<AppState>, caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let actor = actor_of(&state, &caller, &req).await?;
    let (site, user, role) = (actor.site, actor.user, actor.role);
    let all_support = permissions::allows(role, Action::AnswerSupport);
    let candidates = state.store.interact(move |conn| rooms::candidates_for(conn, &site, &user, all_support)).await?;
    let rooms = candidates
        .into_iter()
        .filter(|c| authz::can_see(role, c.room.kind, c.membership))
        .map(|c| {
            let counterpart = c.counterpart.map(|(id, display_name)| Author { id, display_name });
            summary(c.room, c.membership, counterpart)
        })
        .collect();
    Ok(HttpResponse::Ok().json(RoomList { rooms }))
}

/// Creates a channel or a private room with the caller in it.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    request_body = CreateRoom,
    responses(
        (status = 201, body = RoomSummary),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "the caller's role may not create this kind of room"),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/rooms")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<CreateRoom>,
) -> Result<HttpResponse, ApiError> {
    let CreateRoom { kind, name } = body.into_inner();
    limits::check_room_name(&name)?;
    let actor = actor_of(&state, &caller, &req).await?;
    let (action, kind) = match kind {
        NamedRoomKind::Channel => (Action::CreateChannel, RoomKind::Channel),
        NamedRoomKind::Private => (Action::CreatePrivateRoom, RoomKind::Private),
    };
    actor.require(&state, action, None)?;
    created(&state, &actor, kind, name).await
}

/// Tells `audience`'s open widgets that their lists of rooms now hold `room`.
pub fn announce(state: &AppState, site: Uuid, room: RoomId, audience: Audience) {
    state.bus.publish(RoomEvent::Opened { site, room, audience });
}

async fn created(state: &AppState, actor: &Actor, kind: RoomKind, name: String) -> Result<HttpResponse, ApiError> {
    let (site, user) = (actor.site, actor.user);
    let room = state.store.interact(move |conn| rooms::create(conn, &site, kind, &name, &user)).await?;
    // The creator too: their other tabs and devices.
    announce(state, site, room.id, Audience::Person(user));
    match kind {
        RoomKind::Channel => announce(state, site, room.id, Audience::Everyone),
        RoomKind::Support => announce(state, site, room.id, Audience::Staff),
        RoomKind::Private | RoomKind::Direct => {}
    }
    let membership = Some(Membership { banned: false, read_seq: 0 });
    Ok(HttpResponse::Created().json(summary(room, membership, None)))
}

/// The caller's direct conversation with another person on the site, started on first use
/// (201) or found (200). Both are put (back) in it.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    request_body = StartDirect,
    responses(
        (status = 200, body = RoomSummary, description = "the existing conversation"),
        (status = 201, body = RoomSummary, description = "a new conversation"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such person on the caller's site"),
        (status = 422, body = ErrorBody, description = "a conversation with oneself"),
    )
)]
#[post("/rooms/direct")]
pub async fn start_direct(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<StartDirect>,
) -> Result<HttpResponse, ApiError> {
    let other = body.into_inner().user;
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::StartDirect, None)?;
    if other == actor.user {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "a direct conversation needs someone else"));
    }
    actor.target_role(&state, Action::StartDirect, None, other).await?;
    let (site, me) = (actor.site, actor.user);
    let (room, is_new, membership, counterpart) = state
        .store
        .interact(move |conn| {
            let (room, is_new) = rooms::find_or_create_direct(conn, &site, &me, &other)?;
            palisade_store::members::add(conn, &room.id, &me, room.last_seq)?;
            palisade_store::members::add(conn, &room.id, &other, room.last_seq)?;
            let membership = palisade_store::members::membership(conn, &room.id, &me)?;
            let counterpart = users::find(conn, &site, &other)?;
            Ok((room, is_new, membership, counterpart))
        })
        .await?;
    if !authz::can_see(actor.role, room.kind, membership) {
        return Err(ApiError::new(ErrorCode::Forbidden, "you are banned from this conversation"));
    }
    // Both were put (back) in it.
    announce(&state, site, room.id, Audience::Person(other));
    announce(&state, site, room.id, Audience::Person(me));
    let counterpart = counterpart.map(|user| Author { id: user.id, display_name: user.display_name });
    let summary = summary(room, membership, counterpart);
    Ok(if is_new { HttpResponse::Created().json(summary) } else { HttpResponse::Ok().json(summary) })
}

/// A new support conversation between the caller and the site's staff.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    request_body = StartSupport,
    responses(
        (status = 201, body = RoomSummary),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/rooms/support")]
pub async fn start_support(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    // Read as a value first: serde reads a struct from a JSON array too, and every field here is
    // optional, so `[]` would pass for `{}`. The document promises an object.
    let body = body.into_inner();
    if !body.is_object() {
        return Err(ApiError::new(ErrorCode::MalformedRequest, "the body must be a JSON object"));
    }
    let body: StartSupport = serde_json::from_value(body)
        .map_err(|e| ApiError::new(ErrorCode::MalformedRequest, format!("the body is not valid: {e}")))?;
    let name = body.subject.unwrap_or_else(|| SUPPORT_ROOM_NAME.to_owned());
    limits::check_room_name(&name)?;
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::StartSupport, None)?;
    created(&state, &actor, RoomKind::Support, name).await
}
