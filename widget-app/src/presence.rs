//! Who on the site is online, as far as this widget knows: a list fetched when the socket is
//! ready (`GET /api/v1/presence`), kept current by `presence` frames.
//!
//! Frames can overtake the list: one may arrive after the request went out but before the
//! answer, which then tells an older truth. Changes heard while a fetch is under way are kept
//! and applied again on top of its answer.

use std::collections::HashSet;

use palisade_protocol::UserId;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Online {
    ids: HashSet<UserId>,
    /// `Some` while a fetch is under way: the changes heard since it began, in order.
    heard_while_fetching: Option<Vec<(UserId, bool)>>,
}

impl Online {
    pub fn contains(&self, user: UserId) -> bool {
        self.ids.contains(&user)
    }

    pub fn fetch_started(&mut self) {
        self.heard_while_fetching = Some(Vec::new());
    }

    /// A fetch failed: what frames said meanwhile is already applied, and stays.
    pub fn fetch_failed(&mut self) {
        self.heard_while_fetching = None;
    }

    pub fn fetched(&mut self, online: impl IntoIterator<Item = UserId>) {
        self.ids = online.into_iter().collect();
        for (user, online) in self.heard_while_fetching.take().unwrap_or_default() {
            self.apply(user, online);
        }
    }

    /// A `presence` frame.
    pub fn changed(&mut self, user: UserId, online: bool) {
        self.apply(user, online);
        if let Some(heard) = &mut self.heard_while_fetching {
            heard.push((user, online));
        }
    }

    fn apply(&mut self, user: UserId, online: bool) {
        if online {
            self.ids.insert(user);
        } else {
            self.ids.remove(&user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> UserId {
        UserId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn frames_keep_the_fetched_list_current() {
        let mut online = Online::default();
        online.fetch_started();
        online.fetched([user(1), user(2)]);
        online.changed(user(2), false);
        online.changed(user(3), true);
        assert!(online.contains(user(1)) && !online.contains(user(2)) && online.contains(user(3)));
    }

    #[test]
    fn a_frame_that_overtakes_the_answer_is_not_undone_by_it() {
        let mut online = Online::default();
        online.fetch_started();
        // Bob left and Carol came while the answer (from before both) was on its way.
        online.changed(user(2), false);
        online.changed(user(3), true);
        online.fetched([user(1), user(2)]);
        assert!(online.contains(user(1)));
        assert!(!online.contains(user(2)), "Bob left after the list was taken");
        assert!(online.contains(user(3)), "Carol came after the list was taken");
        // Once applied, those changes are not replayed on a later answer.
        online.fetch_started();
        online.fetched([user(2)]);
        assert!(online.contains(user(2)) && !online.contains(user(3)));
    }

    #[test]
    fn a_failed_fetch_keeps_what_frames_said() {
        let mut online = Online::default();
        online.fetch_started();
        online.changed(user(1), true);
        online.fetch_failed();
        assert!(online.contains(user(1)));
        online.fetch_started();
        online.fetched([]);
        assert!(!online.contains(user(1)));
    }
}
