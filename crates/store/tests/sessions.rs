//! Sessions, refresh-token rotation and the sign-in throttle against a real database (SQLite by
//! default, PostgreSQL with `PALISADE_TEST_DATABASE=postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use palisade_protocol::{SessionId, UserId};
use palisade_store::sessions::{self, Lifetimes, NewSession, Rotation};
use palisade_store::test_support::TestDatabase;
use palisade_store::{Sealed, Store, login_throttle, sites, users};
use uuid::Uuid;

const DAY: i64 = 24 * 60 * 60 * 1000;
const LIFETIMES: Lifetimes = Lifetimes { idle_ms: 7 * DAY, reuse_grace_ms: 30_000 };
const T0: i64 = 1_800_000_000_000;

struct Fixture {
    _db: TestDatabase,
    store: Store,
    site: Uuid,
    user: UserId,
}

fn fixture() -> Fixture {
    let db = TestDatabase::create();
    let store = Store::open(db.url(), 4).unwrap();
    let site = store.with_connection(|c| sites::create(c, &"acme".parse().unwrap(), "Acme", &[])).unwrap().id;
    let email = Sealed { key_id: 1, bytes: b"sealed".to_vec() };
    let new = users::NewUser {
        id: UserId(Uuid::new_v4()),
        site_id: site,
        email_index: "idx",
        email: &email,
        display_name: "Ada",
        password_hash: "hash",
    };
    let user = store.with_connection(|c| users::create(c, &new)).unwrap().id;
    Fixture { _db: db, store, site, user }
}

fn start(f: &Fixture, token_hash: &str) -> SessionId {
    let id = SessionId(Uuid::new_v4());
    let new = NewSession {
        id,
        user: f.user,
        now: T0,
        expires_at: T0 + 30 * DAY,
        device: "Firefox on Linux",
        ip: Some("192.0.2.0"),
        token_hash,
        mfa_pending: false,
    };
    f.store.with_connection(|c| sessions::create(c, &new)).unwrap();
    id
}

fn rotate(f: &Fixture, presented: &str, next: &str, now: i64) -> Rotation {
    f.store.with_connection(|c| sessions::rotate(c, presented, next, now, LIFETIMES)).unwrap()
}

#[test]
fn each_refresh_token_works_once_and_the_next_one_replaces_it() {
    let f = fixture();
    let id = start(&f, "h1");
    let Rotation::Rotated(session) = rotate(&f, "h1", "h2", T0 + 1000) else { panic!("current token refused") };
    assert_eq!((session.id, session.user, session.site_id, session.last_used_at), (id, f.user, f.site, T0 + 1000));
    assert!(matches!(rotate(&f, "h2", "h3", T0 + 2000), Rotation::Rotated(_)));
    assert_eq!(rotate(&f, "nope", "h9", T0 + 3000), Rotation::Refused);
}

#[test]
fn presenting_a_used_token_again_ends_the_whole_session() {
    let f = fixture();
    let id = start(&f, "h1");
    assert!(matches!(rotate(&f, "h1", "h2", T0 + 1000), Rotation::Rotated(_)));
    // Once the newer token has been used, h1 coming back can only be a copy: the family dies,
    // including the newest token.
    assert!(matches!(rotate(&f, "h2", "h3", T0 + 1500), Rotation::Rotated(_)));
    assert!(matches!(rotate(&f, "h1", "hx", T0 + 2000), Rotation::Reused(s) if s.id == id));
    assert_eq!(rotate(&f, "h3", "h4", T0 + 3000), Rotation::Refused);
    assert_eq!(f.store.with_connection(|c| sessions::find_live(c, &id, T0 + 3000)).unwrap(), None);
}

#[test]
fn a_refresh_whose_answer_was_lost_may_be_repeated_briefly_and_only_once() {
    let f = fixture();
    let id = start(&f, "h1");
    assert!(matches!(rotate(&f, "h1", "h2", T0 + 1000), Rotation::Rotated(_)));
    // The browser never saw h2 and presents h1 again, 5 s later: it gets h3, and h2 is retired.
    assert!(matches!(rotate(&f, "h1", "h3", T0 + 6000), Rotation::Rotated(s) if s.id == id));
    // Whoever holds h2 is now caught.
    assert!(matches!(rotate(&f, "h2", "hx", T0 + 7000), Rotation::Reused(_)));
    assert_eq!(f.store.with_connection(|c| sessions::find_live(c, &id, T0 + 7000)).unwrap(), None);

    // Past the grace period, a repeat is reuse.
    let late = start(&f, "l1");
    assert!(matches!(rotate(&f, "l1", "l2", T0 + 1000), Rotation::Rotated(_)));
    assert!(matches!(rotate(&f, "l1", "l3", T0 + 1000 + 30_001), Rotation::Reused(s) if s.id == late));
}

#[test]
fn idle_and_absolute_lifetimes_are_enforced() {
    let f = fixture();
    start(&f, "idle");
    assert_eq!(rotate(&f, "idle", "n", T0 + 7 * DAY + 1), Rotation::Refused);

    start(&f, "a1");
    let (mut current, mut now) = ("a1".to_owned(), T0);
    for step in 0..4 {
        now += 6 * DAY;
        let next = format!("a{}", step + 2);
        assert!(matches!(rotate(&f, &current, &next, now), Rotation::Rotated(_)), "day {}", now / DAY);
        current = next;
    }
    assert!(matches!(rotate(&f, &current, "a29", T0 + 29 * DAY), Rotation::Rotated(_)));
    // Used every few days, it still ends 30 days after sign-in.
    assert_eq!(rotate(&f, "a29", "late", T0 + 30 * DAY), Rotation::Refused);
}

#[test]
fn sessions_list_and_end_individually_or_all_but_one() {
    let f = fixture();
    let (a, _b, c) = (start(&f, "a"), start(&f, "b"), start(&f, "c"));
    let live =
        |now| f.store.with_connection(|conn| sessions::list_live(conn, &f.user, now, LIFETIMES.idle_ms)).unwrap();
    assert_eq!(live(T0 + 1).len(), 3);
    let stranger = UserId(Uuid::new_v4());
    assert!(!f.store.with_connection(|conn| sessions::revoke(conn, &stranger, &a, T0 + 2, "x")).unwrap());
    assert!(f.store.with_connection(|conn| sessions::revoke(conn, &f.user, &a, T0 + 2, "logout")).unwrap());
    assert_eq!(live(T0 + 3).iter().map(|s| s.id).collect::<Vec<_>>().len(), 2);
    let ended = f.store.with_connection(|conn| sessions::revoke_all(conn, &f.user, Some(&c), T0 + 4, "pw")).unwrap();
    assert_eq!(ended, 1);
    assert_eq!(live(T0 + 5).iter().map(|s| s.id).collect::<Vec<_>>(), vec![c]);
    assert_eq!(rotate(&f, "b", "b2", T0 + 6), Rotation::Refused);
    assert_eq!(f.store.with_connection(|conn| sessions::prune(conn, T0 + 10)).unwrap(), 2);
}

#[test]
fn failures_are_counted_per_email_and_scope_and_success_resets_the_back_off() {
    let f = fixture();
    let hour = 60 * 60 * 1000;
    let key = |scope| login_throttle::Key { site: &f.site, email_index: "idx", scope };
    let policy = |c: &login_throttle::Counts| T0 + i64::from(c.consecutive) * 1000;
    let fail = |scope, now| {
        f.store.with_connection(|c| login_throttle::record_failure(c, key(scope), now, hour, policy)).unwrap()
    };
    let blocked = |scope| f.store.with_connection(|c| login_throttle::blocked_until(c, key(scope))).unwrap();
    assert_eq!(blocked("192.0.2.0"), None);
    assert_eq!(fail("192.0.2.0", T0).0.consecutive, 1);
    let (counts, until) = fail("192.0.2.0", T0 + 10);
    assert_eq!((counts.consecutive, counts.window_failures, counts.window_start, until), (2, 2, T0, T0 + 2000));
    assert_eq!(blocked("192.0.2.0"), Some(T0 + 2000));
    assert_eq!(blocked("198.51.100.0"), None, "another network is not affected");
    let other = login_throttle::Key { site: &f.site, email_index: "other", scope: "192.0.2.0" };
    assert_eq!(f.store.with_connection(|c| login_throttle::blocked_until(c, other)).unwrap(), None);

    f.store.with_connection(|c| login_throttle::record_success(c, key("192.0.2.0"))).unwrap();
    assert_eq!(blocked("192.0.2.0"), Some(0));
    let (counts, _) = fail("192.0.2.0", T0 + hour + 1);
    assert_eq!((counts.consecutive, counts.window_failures, counts.window_start), (1, 1, T0 + hour + 1));
}
