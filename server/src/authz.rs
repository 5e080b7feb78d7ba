//! Authorization: every room action, over REST and WebSocket alike, is decided here.
//!
//! The role matrix itself is `palisade_protocol::permissions`; this module adds what depends on
//! the room (its kind, the actor's row in it) and on the person an action targets, and records
//! every refusal as `authz_fail`. A room the actor may not see answers exactly like a room that
//! does not exist, so ids cannot be probed for across rooms or sites.

use palisade_protocol::permissions::{self, Action};
use palisade_protocol::roles::Role;
use palisade_protocol::rooms::RoomKind;
use palisade_protocol::{ErrorCode, RoomId, UserId};
use palisade_store::members::{self, Membership};
use palisade_store::rooms::{self, Room};
use palisade_store::{StoreError, users};
use uuid::Uuid;

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;

/// Whether someone of `role`, with `membership` in a room of `kind`, may see it: read its
/// history, subscribe to it and post in it.
pub fn can_see(role: Role, kind: RoomKind, membership: Option<Membership>) -> bool {
    match membership {
        Some(row) => row.is_member(),
        None => match kind {
            RoomKind::Channel => true,
            RoomKind::Support => permissions::allows(role, Action::AnswerSupport),
            RoomKind::Private | RoomKind::Direct => false,
        },
    }
}

/// A signed-in person acting on their site.
#[derive(Debug, Clone)]
pub struct Actor {
    pub site: Uuid,
    pub user: UserId,
    pub role: Role,
    pub client: Client,
}

/// A room the actor may see, with their row in it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub room: Room,
    pub membership: Option<Membership>,
}

impl Seen {
    /// In the room, as opposed to reading a channel from outside.
    pub fn joined(&self) -> bool {
        self.membership.is_some_and(|row| row.is_member())
    }
}

impl Actor {
    /// The actor, or `None` when the account no longer exists on the site.
    pub async fn load(state: &AppState, site: Uuid, user: UserId, client: Client) -> Result<Option<Self>, StoreError> {
        let role = state.store.interact(move |conn| users::role_in_site(conn, &site, &user)).await?;
        Ok(role.map(|role| Self { site, user, role, client }))
    }

    /// An audit event about something this actor did, from where they did it.
    pub fn event(&self, name: &'static str, outcome: Outcome) -> AuditEvent {
        AuditEvent::new(name, outcome).with_site(self.site).with_actor(self.user).with_client(self.client.clone())
    }

    /// Records a refused action: on the audit trail, and as a metric an operator can alert on.
    pub fn refused(&self, state: &AppState, action: &str, room: Option<RoomId>, why: &str) {
        let mut event =
            self.event("authz_fail", Outcome::Failure).with_detail("action", action).with_detail("reason", why);
        if let Some(room) = room {
            event = event.with_detail("room", room.to_string());
        }
        state.audit.record(event);
    }

    /// Records a moderation action that went through.
    pub fn moderated(&self, state: &AppState, action: Action, room: RoomId, target: UserId) {
        state.audit.record(
            self.event("authz_admin", Outcome::Success)
                .with_detail("action", action.as_str())
                .with_detail("room", room.to_string())
                .with_detail("target", target.to_string()),
        );
    }

    /// The matrix's answer for this actor, as a 403 when it is no.
    pub fn require(&self, state: &AppState, action: Action, room: Option<RoomId>) -> Result<(), ApiError> {
        if permissions::allows(self.role, action) {
            return Ok(());
        }
        self.refused(state, action.as_str(), room, "role");
        Err(ApiError::new(ErrorCode::Forbidden, format!("your role on this site may not {}", describe(action))))
    }

    /// The room, if it is on the actor's site and they may see it; `None` (recorded as a
    /// refusal) otherwise, which callers answer as "no such room". The role is read afresh, so a
    /// demotion takes effect on an open WebSocket at its next action.
    pub async fn see(&self, state: &AppState, action: &str, room: RoomId) -> Result<Option<Seen>, StoreError> {
        let (site, user) = (self.site, self.user);
        let seen = state
            .store
            .interact(move |conn| {
                let Some(role) = users::role_in_site(conn, &site, &user)? else { return Ok(None) };
                let Some(found) = rooms::find_in_site(conn, &site, &room)? else { return Ok(None) };
                let membership = members::membership(conn, &room, &user)?;
                Ok(can_see(role, found.kind, membership).then_some(Seen { room: found, membership }))
            })
            .await?;
        if seen.is_none() {
            self.refused(state, action, Some(room), "room not visible");
        }
        Ok(seen)
    }

    /// As [`Actor::see`], for REST handlers: a room not seen is a 404.
    pub async fn see_or_404(&self, state: &AppState, action: &str, room: RoomId) -> Result<Seen, ApiError> {
        self.see(state, action, room).await?.ok_or_else(|| ApiError::not_found("room"))
    }

    /// The role of `target` on the actor's site; a person of another site (or nobody) is a 404,
    /// recorded as a refusal.
    pub async fn target_role(
        &self,
        state: &AppState,
        action: Action,
        room: Option<RoomId>,
        target: UserId,
    ) -> Result<Role, ApiError> {
        let site = self.site;
        let role = state.store.interact(move |conn| users::role_in_site(conn, &site, &target)).await?;
        role.ok_or_else(|| {
            self.refused(state, action.as_str(), room, "person not on the site");
            ApiError::not_found("person")
        })
    }

    /// For acting on someone else or on what they wrote (in `room`, or on the person when
    /// `None`): the matrix allows it, and they are on the site and rank below the actor.
    pub async fn require_over(
        &self,
        state: &AppState,
        action: Action,
        room: Option<RoomId>,
        target: UserId,
    ) -> Result<(), ApiError> {
        self.require(state, action, room)?;
        let role = self.target_role(state, action, room, target).await?;
        self.require_outranks(state, action, room, role)
    }

    /// Moderation reaches only down: a moderator cannot remove an admin, nor anyone their peer.
    fn require_outranks(
        &self,
        state: &AppState,
        action: Action,
        room: Option<RoomId>,
        target: Role,
    ) -> Result<(), ApiError> {
        if permissions::outranks(self.role, target) {
            return Ok(());
        }
        self.refused(state, action.as_str(), room, "target does not rank below");
        Err(ApiError::new(ErrorCode::Forbidden, "you may only do that to people whose role is below yours"))
    }
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::CreateChannel => "create channels",
        Action::CreatePrivateRoom => "create private rooms",
        Action::StartDirect => "start direct conversations",
        Action::StartSupport => "start support conversations",
        Action::JoinChannel => "join channels",
        Action::InviteToRoom => "invite people",
        Action::RemoveFromRoom => "remove people from rooms",
        Action::BanFromRoom => "ban people from rooms",
        Action::AnswerSupport => "answer support conversations",
        Action::DeleteAnyMessage => "delete other people's messages",
        Action::SeeEarlierVersions => "read earlier versions of other people's messages",
        Action::ManageSite => "change the site's settings",
        Action::AssignRoles => "change people's roles",
        Action::EndSessions => "end other people's sessions",
        Action::ReadAudit => "read the audit trail",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: Membership = Membership { banned: false, read_seq: 0 };
    const BANNED: Membership = Membership { banned: true, read_seq: 0 };

    #[test]
    fn who_sees_which_room() {
        for role in Role::ALL {
            let staff = permissions::is_staff(role);
            assert!(can_see(role, RoomKind::Channel, None));
            assert!(!can_see(role, RoomKind::Private, None));
            assert!(!can_see(role, RoomKind::Direct, None));
            assert_eq!(can_see(role, RoomKind::Support, None), staff, "{role}");
            for kind in RoomKind::ALL {
                assert!(can_see(role, kind, Some(MEMBER)));
                assert!(!can_see(role, kind, Some(BANNED)), "a ban beats every role: {role} {kind:?}");
            }
        }
    }
}
