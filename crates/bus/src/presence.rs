//! Who is online on each site: a count of open connections per person, and a change feed.
//!
//! A person is online while at least one of their connections is open, so a second tab opening
//! or closing changes nothing anyone sees. Sites are independent: nobody learns about another
//! site's people.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use palisade_protocol::messages::Author;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Someone came online or went offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub user: Author,
    pub online: bool,
}

#[derive(Debug)]
struct SitePresence {
    connections: HashMap<palisade_protocol::UserId, (Author, usize)>,
    changes: broadcast::Sender<PresenceChange>,
}

/// The presence of every site; cheap to clone.
#[derive(Clone, Debug)]
pub struct Presence {
    sites: Arc<Mutex<HashMap<Uuid, SitePresence>>>,
    capacity: usize,
}

/// Keeps its person counted as online until dropped.
#[derive(Debug)]
pub struct Online {
    presence: Presence,
    site: Uuid,
    user: Author,
}

impl Presence {
    pub fn new(capacity: usize) -> Self {
        Self { sites: Arc::default(), capacity: capacity.max(1) }
    }

    /// Counts a new connection of `user` on `site`, announcing them if it is their first, and
    /// returns it with the site's change feed (which a connection that falls behind may miss
    /// changes of: presence is a hint, not a record).
    pub fn connect(&self, site: Uuid, user: Author) -> (Online, broadcast::Receiver<PresenceChange>) {
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = sites.entry(site).or_insert_with(|| SitePresence {
            connections: HashMap::new(),
            changes: broadcast::channel(self.capacity).0,
        });
        let count = &mut entry.connections.entry(user.id).or_insert_with(|| (user.clone(), 0)).1;
        *count += 1;
        if *count == 1 {
            let _ = entry.changes.send(PresenceChange { user: user.clone(), online: true });
        }
        // After the announcement, so a connection is not told about itself.
        let feed = entry.changes.subscribe();
        (Online { presence: self.clone(), site, user }, feed)
    }

    /// Everyone online on `site`, by name.
    pub fn online(&self, site: Uuid) -> Vec<Author> {
        let sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        let mut people: Vec<Author> = sites
            .get(&site)
            .map(|entry| entry.connections.values().map(|(author, _)| author.clone()).collect())
            .unwrap_or_default();
        people.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.0.cmp(&b.id.0)));
        people
    }

    fn disconnect(&self, site: Uuid, user: &Author) {
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = sites.get_mut(&site) else { return };
        let Some((_, count)) = entry.connections.get_mut(&user.id) else { return };
        *count -= 1;
        if *count == 0 {
            entry.connections.remove(&user.id);
            let _ = entry.changes.send(PresenceChange { user: user.clone(), online: false });
        }
        if entry.connections.is_empty() {
            sites.remove(&site);
        }
    }
}

impl Drop for Online {
    fn drop(&mut self) {
        self.presence.disconnect(self.site, &self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_protocol::UserId;

    fn person(n: u128, name: &str) -> Author {
        Author { id: UserId(Uuid::from_u128(n)), display_name: name.into() }
    }

    #[test]
    fn a_person_is_online_while_any_of_their_connections_is_open() {
        let presence = Presence::new(16);
        let (site, other_site) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (watcher, mut feed) = presence.connect(site, person(1, "Watcher"));
        let (first_tab, _) = presence.connect(site, person(2, "Ada"));
        let (second_tab, _) = presence.connect(site, person(2, "Ada"));
        let (_elsewhere, _) = presence.connect(other_site, person(3, "Eve"));
        assert_eq!(feed.try_recv().unwrap(), PresenceChange { user: person(2, "Ada"), online: true });
        assert!(feed.try_recv().is_err(), "a second tab announces nothing, another site nothing at all");
        assert_eq!(presence.online(site), vec![person(2, "Ada"), person(1, "Watcher")]);
        drop(first_tab);
        assert!(feed.try_recv().is_err());
        drop(second_tab);
        assert_eq!(feed.try_recv().unwrap(), PresenceChange { user: person(2, "Ada"), online: false });
        assert_eq!(presence.online(site), vec![person(1, "Watcher")]);
        drop(watcher);
        assert!(presence.sites.lock().unwrap().get(&site).is_none(), "an empty site is forgotten");
    }
}
