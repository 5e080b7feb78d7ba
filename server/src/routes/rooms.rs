//! Rooms and their history, for the signed-in caller's site only.

use actix_web::{HttpResponse, get, web};
use palisade_protocol::limits::{HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX};
use palisade_protocol::messages::{Author, HistoryPage, HistoryQuery, MessageView};
use palisade_protocol::rooms::{RoomList, RoomSummary};
use palisade_protocol::{ErrorBody, ErrorCode, RoomId};
use palisade_store::messages::{Cursor, StoredMessage};
use palisade_store::{rooms, sites, users};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::sealing::Sealer;

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

/// The message as the API shows it, its body opened (or marked unavailable when it does not open).
pub fn message_view(sealer: &Sealer, message: StoredMessage) -> MessageView {
    let body = sealer.open_body(&message.id, &message.room, &message.body);
    MessageView {
        room: message.room,
        id: message.id,
        seq: message.seq,
        author: Author { id: message.author, display_name: message.author_name },
        unavailable: body.is_none(),
        body: body.unwrap_or_default(),
        sent_at: message.sent_at,
    }
}

/// The rooms the caller can see on their site.
#[utoipa::path(
    tag = "rooms",
    security(("bearer" = [])),
    responses((status = 200, body = RoomList), (status = 401, body = ErrorBody))
)]
#[get("/rooms")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let site = caller_site(&state, &caller).await?;
    let rooms = state.store.interact(move |conn| rooms::list_for_site(conn, &site.id)).await?;
    let rooms = rooms
        .into_iter()
        .map(|room| RoomSummary { id: room.id, name: room.name, kind: room.kind, last_seq: room.last_seq })
        .collect();
    Ok(HttpResponse::Ok().json(RoomList { rooms }))
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
        (status = 404, body = ErrorBody, description = "no such room on the caller's site"),
        (status = 422, body = ErrorBody),
    )
)]
#[get("/rooms/{id}/messages")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<RoomId>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let room_id = path.into_inner();
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(HISTORY_PAGE_DEFAULT);
    if limit == 0 || limit > HISTORY_PAGE_MAX {
        return Err(ApiError::new(ErrorCode::ValidationFailed, format!("limit must be 1 to {HISTORY_PAGE_MAX}")));
    }
    let cursor = match (query.before, query.after) {
        (None, None) => Cursor::Latest,
        (Some(before), None) => Cursor::Before(before),
        (None, Some(after)) => Cursor::After(after),
        (Some(_), Some(_)) => {
            return Err(ApiError::new(ErrorCode::ValidationFailed, "give before or after, not both"));
        }
    };
    let site = caller_site(&state, &caller).await?;
    let page = state
        .store
        .interact(move |conn| {
            if rooms::find_in_site(conn, &site.id, &room_id)?.is_none() {
                return Ok(None);
            }
            palisade_store::messages::page(conn, &room_id, cursor, limit).map(Some)
        })
        .await?;
    let (messages, has_more) = page.ok_or_else(|| ApiError::not_found("room"))?;
    Ok(HttpResponse::Ok().json(HistoryPage {
        messages: messages.into_iter().map(|m| message_view(&state.sealer, m)).collect(),
        has_more,
    }))
}
