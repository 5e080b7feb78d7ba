//! Who is in a room: joining, leaving, inviting, removing, banning, and how far each has read.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use palisade_bus::{Audience, RoomEvent};
use palisade_protocol::permissions::Action;
use palisade_protocol::rooms::{MemberList, MemberTarget, MemberView, ReadMarker, RoomKind};
use palisade_protocol::{ErrorBody, ErrorCode, RoomId, UserId};
use palisade_store::members;

use super::rooms::{actor_of, announce};
use crate::app::AppState;
use crate::authz::Actor;
use crate::error::ApiError;
use crate::extract::Caller;

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// Joins a channel, with everything already in it counted as read.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the channel")),
    responses(
        (status = 204, description = "in the channel (also when already in it)"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room the caller may see"),
        (status = 422, body = ErrorBody, description = "not a channel: other rooms are joined by invitation"),
    )
)]
#[post("/rooms/{id}/join")]
pub async fn join(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<RoomId>,
) -> Result<HttpResponse, ApiError> {
    let room = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::JoinChannel, Some(room))?;
    let seen = actor.see_or_404(&state, Action::JoinChannel.as_str(), room).await?;
    if seen.room.kind != RoomKind::Channel {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "only channels can be joined; other rooms invite"));
    }
    let user = actor.user;
    state.store.interact(move |conn| members::join(conn, &room, &user)).await?;
    Ok(no_content())
}

/// Leaves a room. A channel can be joined again; other rooms need a new invitation.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room")),
    responses(
        (status = 204, description = "out of the room"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room the caller is in"),
    )
)]
#[post("/rooms/{id}/leave")]
pub async fn leave(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<RoomId>,
) -> Result<HttpResponse, ApiError> {
    let room = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    let seen = actor.see_or_404(&state, "leave_room", room).await?;
    if !seen.joined() {
        return Err(ApiError::new(ErrorCode::NotFound, "you are not in this room"));
    }
    let user = actor.user;
    state.store.interact(move |conn| members::remove(conn, &room, &user)).await?;
    Ok(no_content())
}

/// Adds someone from the site to a channel or private room the caller is in.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room")),
    request_body = MemberTarget,
    responses(
        (status = 204, description = "the person is in the room (also when already in it)"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room the caller is in, or no such person on the site"),
        (status = 409, body = ErrorBody, description = "the person is banned from the room"),
        (status = 422, body = ErrorBody, description = "direct and support conversations take no invitations"),
    )
)]
#[post("/rooms/{id}/members")]
pub async fn invite(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<RoomId>,
    body: web::Json<MemberTarget>,
) -> Result<HttpResponse, ApiError> {
    let (room, target) = (path.into_inner(), body.into_inner().user);
    let actor = actor_of(&state, &caller, &req).await?;
    actor.require(&state, Action::InviteToRoom, Some(room))?;
    let seen = actor.see_or_404(&state, Action::InviteToRoom.as_str(), room).await?;
    if !seen.joined() {
        actor.refused(&state, Action::InviteToRoom.as_str(), Some(room), "inviter not in the room");
        return Err(ApiError::new(ErrorCode::Forbidden, "join the room before inviting people to it"));
    }
    if matches!(seen.room.kind, RoomKind::Direct | RoomKind::Support) {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "direct and support conversations take no invitations"));
    }
    actor.target_role(&state, Action::InviteToRoom, Some(room), target).await?;
    let banned = state
        .store
        .interact(move |conn| {
            members::join(conn, &room, &target)?;
            Ok(members::membership(conn, &room, &target)?.is_some_and(|row| row.banned))
        })
        .await?;
    if banned {
        return Err(ApiError::new(ErrorCode::Conflict, "that person is banned from this room"));
    }
    announce(&state, actor.site, room, Audience::Person(target));
    Ok(no_content())
}

/// Checks a moderation request: the room (which the moderator must see, and which must not be
/// a direct conversation), then the matrix and the target's rank.
async fn moderation(
    state: &AppState,
    actor: &Actor,
    action: Action,
    room: RoomId,
    target: UserId,
) -> Result<(), ApiError> {
    actor.require(state, action, Some(room))?;
    let seen = actor.see_or_404(state, action.as_str(), room).await?;
    if seen.room.kind == RoomKind::Direct {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "nobody moderates a direct conversation"));
    }
    actor.require_over(state, action, Some(room), target).await
}

/// Takes someone of a lower role out of a room, closing its live delivery to them at once.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room"), ("user" = UserId, Path, description = "the person")),
    responses(
        (status = 204, description = "out of the room"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room, or the person is not in it"),
        (status = 422, body = ErrorBody),
    )
)]
#[delete("/rooms/{id}/members/{user}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(RoomId, UserId)>,
) -> Result<HttpResponse, ApiError> {
    let (room, target) = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    moderation(&state, &actor, Action::RemoveFromRoom, room, target).await?;
    if !state.store.interact(move |conn| members::remove(conn, &room, &target)).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "that person is not in this room"));
    }
    state.bus.publish(RoomEvent::AccessRevoked { room, user: target });
    actor.moderated(&state, Action::RemoveFromRoom, room, target);
    Ok(no_content())
}

/// Bans someone of a lower role from a room: out of it now, and unable to come back.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room")),
    request_body = MemberTarget,
    responses(
        (status = 204, description = "banned"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
#[post("/rooms/{id}/bans")]
pub async fn ban(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<RoomId>,
    body: web::Json<MemberTarget>,
) -> Result<HttpResponse, ApiError> {
    let (room, target) = (path.into_inner(), body.into_inner().user);
    let actor = actor_of(&state, &caller, &req).await?;
    moderation(&state, &actor, Action::BanFromRoom, room, target).await?;
    state.store.interact(move |conn| members::ban(conn, &room, &target)).await?;
    state.bus.publish(RoomEvent::AccessRevoked { room, user: target });
    actor.moderated(&state, Action::BanFromRoom, room, target);
    Ok(no_content())
}

/// Lifts a ban; the person may then join the channel, or be invited, again.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room"), ("user" = UserId, Path, description = "the person")),
    responses(
        (status = 204, description = "no longer banned"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room, or no ban of that person"),
    )
)]
#[delete("/rooms/{id}/bans/{user}")]
pub async fn unban(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(RoomId, UserId)>,
) -> Result<HttpResponse, ApiError> {
    let (room, target) = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    moderation(&state, &actor, Action::BanFromRoom, room, target).await?;
    if !state.store.interact(move |conn| members::unban(conn, &room, &target)).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "that person is not banned from this room"));
    }
    actor.moderated(&state, Action::BanFromRoom, room, target);
    announce(&state, actor.site, room, Audience::Person(target));
    Ok(no_content())
}

/// Marks the room read up to `seq`. The marker never moves back and never passes the room's
/// last message; the answer is the marker as stored.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room")),
    request_body = ReadMarker,
    responses(
        (status = 200, body = ReadMarker),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room the caller may see"),
        (status = 422, body = ErrorBody, description = "`seq` is not a seq (above 2^63 - 1)"),
    )
)]
#[put("/rooms/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<RoomId>,
    body: web::Json<ReadMarker>,
) -> Result<HttpResponse, ApiError> {
    let (room, seq) = (path.into_inner(), body.into_inner().seq);
    // Seqs are int64 on the wire, as the document says; a larger number names no message and
    // must not be quietly taken for the room's last one.
    if i64::try_from(seq).is_err() {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "seq must be at most 2^63 - 1"));
    }
    let actor = actor_of(&state, &caller, &req).await?;
    actor.see_or_404(&state, "mark_read", room).await?;
    let user = actor.user;
    let stored = state.store.interact(move |conn| members::mark_read(conn, &room, &user, seq)).await?;
    let seq = stored.ok_or_else(|| ApiError::not_found("room"))?;
    // The room's subscribers show it as "seen"; the person's other devices clear their count.
    state.bus.publish(RoomEvent::Read { room, user, seq });
    Ok(HttpResponse::Ok().json(ReadMarker { seq }))
}

/// The people in a room, with their roles and how far each has read.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room")),
    responses(
        (status = 200, body = MemberList),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room the caller may see"),
    )
)]
#[get("/rooms/{id}/members")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<RoomId>,
) -> Result<HttpResponse, ApiError> {
    let room = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    actor.see_or_404(&state, "list_members", room).await?;
    let members = state.store.interact(move |conn| members::list(conn, &room)).await?;
    let members = members
        .into_iter()
        .map(|m| MemberView {
            user: palisade_protocol::messages::Author { id: m.user, display_name: m.display_name },
            role: m.role,
            read_seq: m.read_seq,
        })
        .collect();
    Ok(HttpResponse::Ok().json(MemberList { members }))
}
