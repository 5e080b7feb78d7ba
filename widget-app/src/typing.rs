//! Who else is typing in the open room, and when this person's own typing is worth telling.
//!
//! Typing notices are hints: the server passes on at most one per person and room every
//! [`palisade_protocol::limits::TYPING_EVERY_SECS`], so a notice is shown for a while after it
//! arrives and then forgotten unless another one follows.

use crate::i18n::t;
use palisade_protocol::UserId;
use palisade_protocol::messages::Author;

/// The widget tells the server at most this often while the person types.
pub const SEND_EVERY_MILLIS: i64 = 3_000;
/// A notice is shown this long after it arrives.
pub const SHOW_FOR_MILLIS: i64 = 5_000;

/// Whether to send a typing notice now, the last one having gone out at `last` (ms).
pub fn due(last: Option<i64>, now: i64) -> bool {
    last.is_none_or(|last| now - last >= SEND_EVERY_MILLIS || now < last)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typing {
    /// Each person typing, and until when (ms) to show it, in the order they started.
    people: Vec<(UserId, String, i64)>,
}

impl Typing {
    /// `user` is typing, as of `now`.
    pub fn saw(&mut self, user: &Author, now: i64) {
        let until = now + SHOW_FOR_MILLIS;
        match self.people.iter_mut().find(|(id, ..)| *id == user.id) {
            Some(known) => {
                known.1.clone_from(&user.display_name);
                known.2 = until;
            }
            None => self.people.push((user.id, user.display_name.clone(), until)),
        }
    }

    /// `user`'s message arrived: whatever they were typing is sent.
    pub fn stopped(&mut self, user: UserId) -> bool {
        let before = self.people.len();
        self.people.retain(|(id, ..)| *id != user);
        self.people.len() != before
    }

    /// Forgets the notices that have run out. Returns whether anything changed.
    pub fn expire(&mut self, now: i64) -> bool {
        let before = self.people.len();
        self.people.retain(|(.., until)| *until > now);
        self.people.len() != before
    }

    /// The line to show, empty when nobody is typing.
    pub fn text(&self) -> String {
        match self.people.as_slice() {
            [] => String::new(),
            [(_, one, _)] => (t().typing)(one, None, 0),
            [(_, one, _), (_, two, _)] => (t().typing)(one, Some(two), 0),
            [(_, one, _), rest @ ..] => (t().typing)(one, None, rest.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn person(n: u128, name: &str) -> Author {
        Author { id: UserId(Uuid::from_u128(n)), display_name: name.into() }
    }

    #[test]
    fn notices_go_out_at_most_every_three_seconds() {
        assert!(due(None, 0));
        assert!(!due(Some(10_000), 10_001));
        assert!(!due(Some(10_000), 12_999));
        assert!(due(Some(10_000), 13_000));
        // A clock that went back does not silence the person for good.
        assert!(due(Some(10_000), 9_000));
    }

    #[test]
    fn a_notice_shows_for_five_seconds_after_the_last_one() {
        let mut typing = Typing::default();
        assert_eq!(typing.text(), "");
        typing.saw(&person(1, "Ada"), 1_000);
        assert_eq!(typing.text(), "Ada is typing…");
        typing.saw(&person(1, "Ada"), 3_000);
        assert!(!typing.expire(7_999));
        assert_eq!(typing.text(), "Ada is typing…");
        assert!(typing.expire(8_000));
        assert_eq!(typing.text(), "");
    }

    #[test]
    fn several_people_and_a_sent_message() {
        let mut typing = Typing::default();
        typing.saw(&person(1, "Ada"), 0);
        typing.saw(&person(2, "Bo"), 0);
        assert_eq!(typing.text(), "Ada and Bo are typing…");
        typing.saw(&person(3, "Cy"), 0);
        typing.saw(&person(4, "Di"), 0);
        assert_eq!(typing.text(), "Ada and 3 others are typing…");
        assert!(typing.stopped(UserId(Uuid::from_u128(1))));
        assert!(!typing.stopped(UserId(Uuid::from_u128(1))));
        assert_eq!(typing.text(), "Bo and 2 others are typing…");
    }
}
