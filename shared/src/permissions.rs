//! Who may do what on a site: the one permission matrix, by role.
//!
//! The matrix answers only "may a person of this role ever do this". What depends on the room
//! (being in it, whom an action targets) is the server's `authz` module's, which asks this first.
//! The README's "Roles and permissions" table is checked against this matrix by a test, so the
//! two cannot drift apart.

use crate::roles::Role;

/// Something a person asks to do on their site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create a channel, which everyone on the site may read and join.
    CreateChannel,
    /// Create a private room, which only the people invited into it see.
    CreatePrivateRoom,
    /// Start a direct conversation with one other person.
    StartDirect,
    /// Start a support conversation with the site's staff.
    StartSupport,
    /// Join a channel.
    JoinChannel,
    /// Add someone to a private room the actor is in.
    InviteToRoom,
    /// Take someone of a lower role out of a room (they may join a channel again).
    RemoveFromRoom,
    /// Ban someone of a lower role from a room (they lose it until unbanned).
    BanFromRoom,
    /// See and answer every support conversation on the site.
    AnswerSupport,
    /// Delete the messages of people of a lower role (everyone may delete their own).
    DeleteAnyMessage,
    /// Read the earlier texts of edited messages (authors may always read their own).
    SeeEarlierVersions,
    /// See and change the site's settings: name, allowed origins, sign-up, retention, MFA policy.
    ManageSite,
    /// Give someone of a lower role another role that is also below one's own.
    AssignRoles,
    /// End every session of someone of a lower role: signed out everywhere, sockets closed.
    EndSessions,
    /// Read the site's audit trail.
    ReadAudit,
}

impl Action {
    pub const ALL: [Self; 15] = [
        Self::CreateChannel,
        Self::CreatePrivateRoom,
        Self::StartDirect,
        Self::StartSupport,
        Self::JoinChannel,
        Self::InviteToRoom,
        Self::RemoveFromRoom,
        Self::BanFromRoom,
        Self::AnswerSupport,
        Self::DeleteAnyMessage,
        Self::SeeEarlierVersions,
        Self::ManageSite,
        Self::AssignRoles,
        Self::EndSessions,
        Self::ReadAudit,
    ];

    /// The name the README's table and the audit trail use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreateChannel => "create_channel",
            Self::CreatePrivateRoom => "create_private_room",
            Self::StartDirect => "start_direct",
            Self::StartSupport => "start_support",
            Self::JoinChannel => "join_channel",
            Self::InviteToRoom => "invite_to_room",
            Self::RemoveFromRoom => "remove_from_room",
            Self::BanFromRoom => "ban_from_room",
            Self::AnswerSupport => "answer_support",
            Self::DeleteAnyMessage => "delete_any_message",
            Self::SeeEarlierVersions => "see_earlier_versions",
            Self::ManageSite => "manage_site",
            Self::AssignRoles => "assign_roles",
            Self::EndSessions => "end_sessions",
            Self::ReadAudit => "read_audit",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a person of `role` may do `action` at all.
pub const fn allows(role: Role, action: Action) -> bool {
    let staff = is_staff(role);
    match action {
        Action::CreatePrivateRoom
        | Action::StartDirect
        | Action::StartSupport
        | Action::JoinChannel
        | Action::InviteToRoom => true,
        Action::CreateChannel
        | Action::RemoveFromRoom
        | Action::BanFromRoom
        | Action::AnswerSupport
        | Action::DeleteAnyMessage
        | Action::SeeEarlierVersions => staff,
        Action::ManageSite | Action::AssignRoles | Action::EndSessions | Action::ReadAudit => {
            matches!(role, Role::Owner | Role::Admin)
        }
    }
}

/// The site's staff: the people support conversations are with.
pub const fn is_staff(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Admin | Role::Moderator)
}

/// Whether `actor` ranks above `target`: moderation only ever reaches down.
pub const fn outranks(actor: Role, target: Role) -> bool {
    rank(actor) > rank(target)
}

const fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Moderator => 1,
        Role::Member => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table: one row per action, one column per role (owner, admin, moderator,
    /// member), `yes` or `no` in each cell.
    fn readme_matrix() -> Vec<(String, Vec<bool>)> {
        let readme = include_str!("../../README.md");
        let section = readme.split("## Roles and permissions").nth(1).expect("README has the roles section");
        section
            .lines()
            .skip_while(|line| !line.starts_with("| action"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
                let action = cells[0].trim_matches('`').to_owned();
                let grants = cells[1..5]
                    .iter()
                    .map(|cell| match *cell {
                        "yes" => true,
                        "no" => false,
                        other => panic!("cell {other:?} of {action} is neither yes nor no"),
                    })
                    .collect();
                (action, grants)
            })
            .collect()
    }

    #[test]
    fn the_readme_documents_exactly_this_matrix() {
        let documented = readme_matrix();
        let actual: Vec<(String, Vec<bool>)> = Action::ALL
            .iter()
            .map(|action| (action.as_str().to_owned(), Role::ALL.iter().map(|role| allows(*role, *action)).collect()))
            .collect();
        assert_eq!(documented, actual);
    }

    #[test]
    fn moderation_reaches_only_down() {
        assert!(outranks(Role::Owner, Role::Admin));
        assert!(outranks(Role::Moderator, Role::Member));
        assert!(!outranks(Role::Moderator, Role::Moderator));
        assert!(!outranks(Role::Admin, Role::Owner));
        assert!(!outranks(Role::Member, Role::Member));
    }
}
