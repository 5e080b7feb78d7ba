//! What is said in a room: history pages, and editing and deleting messages.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, web};
use palisade_bus::RoomEvent;
use palisade_protocol::limits::{HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, check_message_body};
use palisade_protocol::messages::{
    Author, EditMessage, HistoryPage, HistoryQuery, MessageVersion, MessageVersions, MessageView,
};
use palisade_protocol::permissions::Action;
use palisade_protocol::{ErrorBody, ErrorCode, MessageId, RoomId};
use palisade_store::messages::{self, Cursor, Edit, StoredMessage};

use super::rooms::actor_of;
use crate::app::AppState;
use crate::authz::Actor;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::sealing::Sealer;

/// The message as the API shows it, its body opened (or marked unavailable when it does not
/// open); a deleted one without text.
pub fn message_view(sealer: &Sealer, message: StoredMessage) -> MessageView {
    let body =
        if message.deleted { Some(String::new()) } else { sealer.open_body(&message.id, &message.room, &message.body) };
    MessageView {
        room: message.room,
        id: message.id,
        seq: message.seq,
        author: Author { id: message.author, display_name: message.author_name },
        unavailable: body.is_none(),
        body: body.unwrap_or_default(),
        sent_at: message.sent_at,
        edited_at: message.edited_at,
        deleted: message.deleted,
    }
}

/// A page of a room's history, in ascending `seq` order.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("id" = RoomId, Path, description = "the room"), HistoryQuery),
    responses(
        (status = 200, body = HistoryPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such room the caller may see"),
        (status = 422, body = ErrorBody),
    )
)]
#[get("/rooms/{id}/messages")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<RoomId>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let room_id = path.into_inner();
    let query = query.into_inner();
    let limit = super::page_size(query.limit, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX)?;
    // Seqs are int64 on the wire, as the document says; a larger number names no message.
    if [query.before, query.after].into_iter().flatten().any(|seq| i64::try_from(seq).is_err()) {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "before and after must be at most 2^63 - 1"));
    }
    let cursor = match (query.before, query.after) {
        (None, None) => Cursor::Latest,
        (Some(before), None) => Cursor::Before(before),
        (None, Some(after)) => Cursor::After(after),
        (Some(_), Some(_)) => {
            return Err(ApiError::new(ErrorCode::ValidationFailed, "give before or after, not both"));
        }
    };
    let actor = actor_of(&state, &caller, &req).await?;
    actor.see_or_404(&state, "read_history", room_id).await?;
    let (messages, has_more) =
        state.store.interact(move |conn| palisade_store::messages::page(conn, &room_id, cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(HistoryPage {
        messages: messages.into_iter().map(|m| message_view(&state.sealer, m)).collect(),
        has_more,
    }))
}

/// The message in a room the actor may see, or a 404 (recorded as a refusal).
async fn visible_message(
    state: &AppState,
    actor: &Actor,
    action: &str,
    room: RoomId,
    id: MessageId,
) -> Result<StoredMessage, ApiError> {
    actor.see_or_404(state, action, room).await?;
    let found = state.store.interact(move |conn| messages::find(conn, &room, &id)).await?;
    found.ok_or_else(|| {
        actor.refused(state, action, Some(room), "no such message in the room");
        ApiError::not_found("message")
    })
}

/// Replaces the text of one's own message; the earlier text is kept, sealed, for moderators.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("room" = RoomId, Path, description = "the room"), ("id" = MessageId, Path, description = "the message")),
    request_body = EditMessage,
    responses(
        (status = 200, body = MessageView),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "someone else's message"),
        (status = 404, body = ErrorBody, description = "no such message in a room the caller may see"),
        (status = 409, body = ErrorBody, description = "deleted, or edited at the same moment elsewhere"),
        (status = 422, body = ErrorBody),
    )
)]
#[patch("/rooms/{room}/messages/{id}")]
pub async fn edit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(RoomId, MessageId)>,
    body: web::Json<EditMessage>,
) -> Result<HttpResponse, ApiError> {
    let (room, id) = path.into_inner();
    let text = body.into_inner().body;
    check_message_body(&text)?;
    let actor = actor_of(&state, &caller, &req).await?;
    // Edits rewrite what others read, so they count against the same allowance as sending.
    state
        .send_limiter
        .check_key(&actor.user)
        .map_err(|refused| refused.error("editing too fast; wait and try again"))?;
    let message = visible_message(&state, &actor, "edit_message", room, id).await?;
    if message.author != actor.user {
        actor.refused(&state, "edit_message", Some(room), "not the author");
        return Err(ApiError::new(ErrorCode::Forbidden, "only the author may edit a message"));
    }
    if message.deleted {
        return Err(ApiError::new(ErrorCode::Conflict, "the message was deleted"));
    }
    let previous = state
        .sealer
        .open_body(&message.id, &message.room, &message.body)
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "the message cannot be opened, so it cannot be edited"))?;
    let previous_id = uuid::Uuid::new_v4();
    let sealed_previous =
        state.sealer.seal_version(&previous_id, &message.id, &previous).map_err(ApiError::internal)?;
    let sealed = state.sealer.seal_body(&message.id, &message.room, &text).map_err(ApiError::internal)?;
    let edited = state
        .store
        .interact(move |conn| {
            messages::edit(conn, &Edit { message: &message, body: &sealed, previous_id, previous: &sealed_previous })
        })
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Conflict, "the message changed meanwhile; load it again"))?;
    let view = message_view(&state.sealer, edited);
    state.bus.publish(RoomEvent::Updated(view.clone()));
    Ok(HttpResponse::Ok().json(view))
}

/// Deletes a message: one's own, or, for staff, that of someone of a lower role. Its text and
/// every earlier version go; a tombstone keeps its place.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("room" = RoomId, Path, description = "the room"), ("id" = MessageId, Path, description = "the message")),
    responses(
        (status = 204, description = "deleted (also when it already was)"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such message in a room the caller may see"),
    )
)]
#[delete("/rooms/{room}/messages/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(RoomId, MessageId)>,
) -> Result<HttpResponse, ApiError> {
    let (room, id) = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    let message = visible_message(&state, &actor, "delete_message", room, id).await?;
    let own = message.author == actor.user;
    if !own {
        actor.require_over(&state, Action::DeleteAnyMessage, Some(room), message.author).await?;
    }
    let by = actor.user;
    let author = message.author;
    let tombstone = state.store.interact(move |conn| messages::delete(conn, &message, &by)).await?;
    if let Some(tombstone) = tombstone {
        state.bus.publish(RoomEvent::Updated(message_view(&state.sealer, tombstone)));
        if !own {
            actor.moderated(&state, Action::DeleteAnyMessage, room, author);
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The earlier texts of an edited message, oldest first: for its author, and for staff
/// reviewing what someone of a lower role changed.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    params(("room" = RoomId, Path, description = "the room"), ("id" = MessageId, Path, description = "the message")),
    responses(
        (status = 200, body = MessageVersions),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such message in a room the caller may see"),
    )
)]
#[get("/rooms/{room}/messages/{id}/versions")]
pub async fn versions(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(RoomId, MessageId)>,
) -> Result<HttpResponse, ApiError> {
    let (room, id) = path.into_inner();
    let actor = actor_of(&state, &caller, &req).await?;
    let message = visible_message(&state, &actor, "see_earlier_versions", room, id).await?;
    if message.author != actor.user {
        actor.require_over(&state, Action::SeeEarlierVersions, Some(room), message.author).await?;
    }
    let stored = state.store.interact(move |conn| messages::versions(conn, &id)).await?;
    let versions = stored
        .into_iter()
        .map(|version| {
            let body = state.sealer.open_version(&version.id, &version.message, &version.body);
            MessageVersion {
                unavailable: body.is_none(),
                body: body.unwrap_or_default(),
                replaced_at: version.replaced_at,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(MessageVersions { versions }))
}
