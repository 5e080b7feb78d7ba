//! "Seen by": who else has read the person's newest message in the open room.
//!
//! How far each member has read comes from the room's member list when it is opened, then from
//! the socket's `read` frames; markers only move forward, so a late list cannot undo a frame.

use palisade_protocol::UserId;

use crate::api::Reader;
use crate::i18n::t;
use crate::timeline::{Row, RowStatus};

/// The line under the person's newest stored message (one being sent has no `seq` to compare
/// with, and a deleted one nothing left to see): its `seq` and the text. `None` while no one
/// else has read that far.
pub fn line(rows: &[Row], readers: &[Reader], me: UserId) -> Option<(u64, String)> {
    let seq = rows.iter().rev().find(|r| r.mine && !r.deleted && r.status == RowStatus::Stored)?.seq?;
    let names: Vec<&str> =
        readers.iter().filter(|m| m.user.id != me && m.read_seq >= seq).map(|m| m.user.display_name.as_str()).collect();
    if names.is_empty() {
        return None;
    }
    let shown = names.len().min(3);
    Some((seq, (t().seen_by)(&names[..shown], names.len() - shown)))
}

/// `user` has read up to `seq`. Returns false when they are not listed (yet): someone who has
/// just joined, whose name only a fresh list brings.
pub fn read(readers: &mut [Reader], user: UserId, seq: u64) -> bool {
    let Some(member) = readers.iter_mut().find(|m| m.user.id == user) else {
        return false;
    };
    member.read_seq = member.read_seq.max(seq);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_protocol::messages::{Author, MessageView};
    use palisade_protocol::{ClientMessageId, MessageId, RoomId, Timestamp};
    use uuid::Uuid;

    use crate::timeline::Timeline;

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    fn member(n: u128, name: &str, read_seq: u64) -> Reader {
        Reader { user: Author { id: user(n), display_name: name.into() }, read_seq }
    }

    fn view(seq: u64, author: u128) -> MessageView {
        MessageView {
            room: RoomId(Uuid::from_u128(9)),
            id: MessageId(Uuid::from_u128(1000 + u128::from(seq))),
            seq,
            author: Author { id: user(author), display_name: format!("user {author}") },
            body: "hi".into(),
            sent_at: Timestamp(1),
            unavailable: false,
            edited_at: None,
            deleted: false,
        }
    }

    #[test]
    fn the_newest_own_stored_message_gets_the_line() {
        let me = user(1);
        let mut timeline = Timeline::default();
        timeline.extend([view(1, 1), view(2, 1), view(3, 2)]);
        timeline.push_outgoing(ClientMessageId(Uuid::from_u128(7)), "sending".into(), Timestamp(2));
        let mut readers = vec![member(1, "Me", 3), member(2, "Sam", 1)];
        let line_now = |timeline: &Timeline, readers: &[Reader]| line(&timeline.rows(Some(me)), readers, me);
        // Sam has read only the older message: nothing to say under the newest.
        assert_eq!(line_now(&timeline, &readers), None);
        assert!(read(&mut readers, user(2), 2));
        assert_eq!(line_now(&timeline, &readers), Some((2, "Seen by Sam".to_owned())));
        assert!(read(&mut readers, user(2), 1), "a marker never moves back");
        assert_eq!(line_now(&timeline, &readers), Some((2, "Seen by Sam".to_owned())));
        assert!(!read(&mut readers, user(5), 3), "someone not listed needs a fresh list");
        // Only the person's own reading: nobody else has seen it.
        let only_me = [member(1, "Me", 9)];
        assert_eq!(line_now(&timeline, &only_me), None);

        timeline.insert(MessageView { deleted: true, ..view(2, 1) });
        assert_eq!(line_now(&timeline, &readers), Some((1, "Seen by Sam".to_owned())));
        assert_eq!(line(&timeline.rows(Some(user(3))), &readers, user(3)), None, "no message of theirs");
    }

    #[test]
    fn three_names_at_most() {
        let me = user(1);
        let mut timeline = Timeline::default();
        timeline.insert(view(4, 1));
        let rows = timeline.rows(Some(me));
        let people =
            [member(2, "Ann", 4), member(3, "Bo", 5), member(4, "Cy", 4), member(5, "Di", 4), member(6, "Ed", 4)];
        let text = |n: usize| line(&rows, &people[..n], me).map(|(_, text)| text);
        assert_eq!(text(2).as_deref(), Some("Seen by Ann and Bo"));
        assert_eq!(text(3).as_deref(), Some("Seen by Ann, Bo and Cy"));
        assert_eq!(text(4).as_deref(), Some("Seen by Ann, Bo, Cy and 1 other"));
        assert_eq!(text(5).as_deref(), Some("Seen by Ann, Bo, Cy and 2 others"));
    }

    #[test]
    fn the_servers_member_list_decodes_into_readers() {
        use palisade_protocol::roles::Role;
        use palisade_protocol::rooms::{MemberList, MemberView};
        let list = MemberList {
            members: vec![MemberView {
                user: Author { id: user(1), display_name: "Ann".into() },
                role: Role::Moderator,
                read_seq: 7,
            }],
        };
        let readers: crate::api::Readers = serde_json::from_str(&serde_json::to_string(&list).unwrap()).unwrap();
        assert_eq!(readers.members, vec![member(1, "Ann", 7)], "the widget's slimmer copy must follow the protocol");
    }
}
