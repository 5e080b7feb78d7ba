//! The repositories against a real database: SQLite by default, PostgreSQL with
//! `PALISADE_TEST_DATABASE=postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use palisade_protocol::{ClientMessageId, MessageId, RoomId, SitePublicId, UserId};
use palisade_store::messages::{self, Appended, Cursor, NewMessage};
use palisade_store::test_support::TestDatabase;
use palisade_store::vault_keys::{self, StoredKey, Usage};
use palisade_store::{Sealed, Store, StoreError, rooms, sign_ups, sites, users};
use uuid::Uuid;

struct Fixture {
    _db: TestDatabase,
    store: Store,
    site: sites::Site,
    room: RoomId,
    author: users::User,
}

fn fixture() -> Fixture {
    let db = TestDatabase::create();
    let store = Store::open(db.url(), 4).unwrap();
    let site_id: SitePublicId = "acme".parse().unwrap();
    let site =
        store.with_connection(|c| sites::create(c, &site_id, "Acme", &["https://acme.example".to_owned()])).unwrap();
    let room = store.with_connection(|c| rooms::default_of(c, &site.id)).unwrap().id;
    let author = store.with_connection(|c| users::create(c, &new_user(site.id, "idx-ada"))).unwrap();
    Fixture { _db: db, store, site, room, author }
}

fn sealed(key_id: u32, text: &str) -> Sealed {
    Sealed { key_id, bytes: text.as_bytes().to_vec() }
}

fn new_user(site_id: Uuid, email_index: &'static str) -> users::NewUser<'static> {
    // Leaked so the borrowed fields live as long as the test; a few bytes per test.
    let email: &'static Sealed = Box::leak(Box::new(sealed(1, "sealed email")));
    users::NewUser {
        id: UserId(Uuid::new_v4()),
        site_id,
        email_index,
        email,
        display_name: "Ada",
        password_hash: "hash",
    }
}

fn new_message<'a>(room: RoomId, author: UserId, client_id: ClientMessageId, body: &'a Sealed) -> NewMessage<'a> {
    NewMessage { id: MessageId(Uuid::new_v4()), room, author, author_name: "Ada", client_id, body }
}

fn send(f: &Fixture, client_id: ClientMessageId, body: &str) -> Appended {
    let body = sealed(1, body);
    f.store.with_connection(|c| messages::append(c, &new_message(f.room, f.author.id, client_id, &body))).unwrap()
}

fn new_client_id() -> ClientMessageId {
    ClientMessageId(Uuid::new_v4())
}

#[test]
fn a_new_site_has_its_origins_and_a_default_room() {
    let f = fixture();
    let found = f.store.with_connection(|c| sites::find_by_public_id(c, &f.site.public_id)).unwrap().unwrap();
    assert_eq!(found.allowed_origins, vec!["https://acme.example".to_owned()]);
    let general = f.store.with_connection(|c| rooms::default_of(c, &f.site.id)).unwrap();
    assert_eq!(general.name, rooms::DEFAULT_ROOM_NAME);
    assert_eq!(general.kind, palisade_protocol::rooms::RoomKind::Channel);
}

#[test]
fn site_ids_are_unique_and_update_replaces_origins() {
    let f = fixture();
    let again = f.store.with_connection(|c| sites::create(c, &f.site.public_id, "Again", &[]));
    assert!(matches!(again, Err(StoreError::SiteExists(_))));
    let updated = f
        .store
        .with_connection(|c| {
            let origins = vec!["https://b.example".into(), "https://a.example".into()];
            sites::update(c, &f.site.public_id, &sites::SiteChanges { origins: Some(origins), ..Default::default() })
        })
        .unwrap();
    assert_eq!(updated.allowed_origins, vec!["https://a.example".to_owned(), "https://b.example".to_owned()]);
    let all = f.store.with_connection(sites::all_allowed_origins).unwrap();
    assert!(!all.contains(&"https://acme.example".to_owned()));
}

#[test]
fn email_indexes_are_unique_per_site() {
    let f = fixture();
    let dup = f.store.with_connection(|c| users::create(c, &new_user(f.site.id, "idx-ada")));
    assert!(matches!(dup, Err(StoreError::EmailTaken)));
    let creds = f.store.with_connection(|c| users::find_credentials(c, &f.site.id, "idx-ada")).unwrap();
    assert_eq!(creds.unwrap().user.id, f.author.id);

    let other_site: SitePublicId = "other".parse().unwrap();
    let other = f.store.with_connection(|c| sites::create(c, &other_site, "Other", &[])).unwrap();
    assert!(f.store.with_connection(|c| users::create(c, &new_user(other.id, "idx-ada"))).is_ok());
    assert!(f.store.with_connection(|c| users::find(c, &other.id, &f.author.id)).unwrap().is_none());
}

#[test]
fn messages_get_consecutive_sequence_numbers_and_retries_are_stored_once() {
    let f = fixture();
    let first = send(&f, new_client_id(), "one");
    let retried_id = new_client_id();
    let second = send(&f, retried_id, "two");
    let retry = send(&f, retried_id, "two");
    let third = send(&f, new_client_id(), "three");
    assert!(matches!(first, Appended::New(_)));
    assert_eq!(first.message().seq, 1);
    assert_eq!(second.message().seq, 2);
    assert!(matches!(retry, Appended::Duplicate(_)));
    assert_eq!(retry.message(), second.message());
    assert_eq!(third.message().seq, 3, "a rolled-back retry must not burn a sequence number");
    let room = f.store.with_connection(|c| rooms::find_in_site(c, &f.site.id, &f.room)).unwrap().unwrap();
    assert_eq!(room.last_seq, 3);
}

#[test]
fn history_pages_by_cursor_in_ascending_order() {
    let f = fixture();
    for n in 1..=7 {
        send(&f, new_client_id(), &format!("m{n}"));
    }
    let seqs = |cursor, limit| {
        let (page, more) = f.store.with_connection(|c| messages::page(c, &f.room, cursor, limit)).unwrap();
        (page.iter().map(|m| m.seq).collect::<Vec<_>>(), more)
    };
    assert_eq!(seqs(Cursor::Latest, 3), (vec![5, 6, 7], true));
    assert_eq!(seqs(Cursor::Before(5), 3), (vec![2, 3, 4], true));
    assert_eq!(seqs(Cursor::Before(2), 3), (vec![1], false));
    assert_eq!(seqs(Cursor::After(4), 10), (vec![5, 6, 7], false));
    assert_eq!(seqs(Cursor::After(0), 2), (vec![1, 2], true));
    let (page, _) = f.store.with_connection(|c| messages::page(c, &f.room, Cursor::After(0), 1)).unwrap();
    assert_eq!(page[0].author_name, "Ada");
    assert_eq!(page[0].body, sealed(1, "m1"));
}

#[test]
fn rooms_of_another_site_are_invisible() {
    let f = fixture();
    let other_site: SitePublicId = "other".parse().unwrap();
    let other = f.store.with_connection(|c| sites::create(c, &other_site, "Other", &[])).unwrap();
    assert!(f.store.with_connection(|c| rooms::find_in_site(c, &other.id, &f.room)).unwrap().is_none());
    assert!(f.store.with_connection(|c| rooms::find_in_site(c, &f.site.id, &f.room)).unwrap().is_some());
}

#[test]
fn appending_to_a_missing_room_fails_cleanly() {
    let f = fixture();
    let missing = RoomId(Uuid::new_v4());
    let body = sealed(1, "lost?");
    let result =
        f.store.with_connection(|c| messages::append(c, &new_message(missing, f.author.id, new_client_id(), &body)));
    assert!(matches!(result, Err(StoreError::NotFound)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_never_share_a_sequence_number() {
    let f = fixture();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = f.store.clone();
        let (room, author) = (f.room, f.author.id);
        tasks.push(tokio::spawn(async move {
            let body = sealed(1, &format!("c{n}"));
            store
                .interact(move |c| messages::append(c, &new_message(room, author, new_client_id(), &body)))
                .await
                .unwrap()
                .message()
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
}

#[test]
fn keys_rotate_atomically_and_usage_follows_re_encryption() {
    let f = fixture();
    let key = |id, state: &str| StoredKey { id, state: state.into(), wrapped: vec![id as u8; 73] };
    f.store.with_connection(|c| vault_keys::insert(c, &key(1, "active"))).unwrap();
    assert_eq!(f.store.with_connection(vault_keys::next_id).unwrap(), 2);
    let first = send(&f, new_client_id(), "one");
    send(&f, new_client_id(), "two");

    f.store.with_connection(|c| vault_keys::rotate(c, &key(2, "active"), 1, "decrypt_only")).unwrap();
    let states: Vec<_> =
        f.store.with_connection(vault_keys::list).unwrap().into_iter().map(|k| (k.id, k.state)).collect();
    assert_eq!(states, [(1, "decrypt_only".to_owned()), (2, "active".to_owned())]);
    assert_eq!(
        f.store.with_connection(|c| vault_keys::not_under(c, 2)).unwrap(),
        Usage { messages: 2, message_versions: 0, users: 1, totp_secrets: 0, sign_ups: 0 }
    );

    let pending = f.store.with_connection(|c| messages::bodies_not_under(c, 2, None, 1)).unwrap();
    assert_eq!(pending.len(), 1);
    let resealed = sealed(2, "resealed");
    assert!(f.store.with_connection(|c| messages::replace_body(c, &pending[0].id, 1, &resealed)).unwrap());
    // A second re-encryptor that read the same old value loses the race harmlessly.
    assert!(!f.store.with_connection(|c| messages::replace_body(c, &pending[0].id, 1, &sealed(2, "late"))).unwrap());
    let emails = f.store.with_connection(|c| users::emails_not_under(c, 2, None, 10)).unwrap();
    assert_eq!(emails.len(), 1);
    assert!(f.store.with_connection(|c| users::replace_email(c, &emails[0].user, 1, &sealed(2, "e"))).unwrap());

    assert_eq!(
        f.store.with_connection(|c| vault_keys::usage(c, 1)).unwrap(),
        Usage { messages: 1, message_versions: 0, users: 0, totp_secrets: 0, sign_ups: 0 }
    );
    assert_eq!(
        f.store.with_connection(|c| vault_keys::usage(c, 2)).unwrap(),
        Usage { messages: 1, message_versions: 0, users: 1, totp_secrets: 0, sign_ups: 0 }
    );
    assert_eq!(first.message().body.key_id, 1);
    assert!(matches!(f.store.with_connection(|c| vault_keys::set_state(c, 9, "retired")), Err(StoreError::NotFound)));
}

fn sign_up(f: &Fixture, token_hash: &'static str, email_index: &'static str, expires_at: i64) -> UserId {
    let email = sealed(1, "sealed email");
    let user_id = UserId(Uuid::new_v4());
    let new = sign_ups::NewSignUp {
        token_hash,
        site_id: f.site.id,
        user_id,
        email_index,
        email: &email,
        expires_at,
        invited: false,
    };
    f.store.with_connection(|c| sign_ups::create(c, &new)).unwrap();
    user_id
}

fn account_for(f: &Fixture, user_id: UserId, email_index: &'static str) -> users::NewUser<'static> {
    users::NewUser { id: user_id, ..new_user(f.site.id, email_index) }
}

#[test]
fn a_sign_up_link_creates_the_account_once_and_spends_every_link_of_its_email() {
    let f = fixture();
    let now = palisade_store::now_millis();
    let first = sign_up(&f, "link-1", "idx-grace", now + 60_000);
    let second = sign_up(&f, "link-2", "idx-grace", now + 60_000);
    assert_eq!(f.store.with_connection(|c| vault_keys::usage(c, 1)).unwrap().sign_ups, 2);
    let found = f.store.with_connection(|c| sign_ups::find_live(c, &f.site.id, "link-2", now)).unwrap().unwrap();
    assert_eq!((found.user_id, found.email_index.as_str()), (second, "idx-grace"));

    let created =
        f.store.with_connection(|c| sign_ups::complete(c, "link-2", &account_for(&f, second, "idx-grace"), now));
    assert_eq!(created.unwrap().map(|u| u.id), Some(second));
    // The other link of the same email is spent with it, and the used one cannot be used again.
    for (token, user) in [("link-1", first), ("link-2", second)] {
        let again = f.store.with_connection(|c| sign_ups::complete(c, token, &account_for(&f, user, "idx-grace"), now));
        assert_eq!(again.unwrap(), None, "{token}");
        assert!(f.store.with_connection(|c| sign_ups::find_live(c, &f.site.id, token, now)).unwrap().is_none());
    }
    assert_eq!(f.store.with_connection(|c| vault_keys::usage(c, 1)).unwrap().sign_ups, 0);
}

#[test]
fn dead_foreign_and_already_taken_sign_up_links_create_nothing() {
    let f = fixture();
    let now = palisade_store::now_millis();
    let expired = sign_up(&f, "expired", "idx-eve", now - 1);
    let complete = |token: &'static str, user: UserId, index: &'static str| {
        f.store.with_connection(|c| sign_ups::complete(c, token, &account_for(&f, user, index), now)).unwrap()
    };
    assert!(f.store.with_connection(|c| sign_ups::find_live(c, &f.site.id, "expired", now)).unwrap().is_none());
    assert_eq!(complete("expired", expired, "idx-eve"), None);
    assert_eq!(f.store.with_connection(|c| sign_ups::prune(c, now)).unwrap(), 1);

    // Another site's link does not open this site's sign-up.
    let other = f.store.with_connection(|c| sites::create(c, &"globex".parse().unwrap(), "Globex", &[])).unwrap();
    let live = sign_up(&f, "live", "idx-eve", now + 60_000);
    assert!(f.store.with_connection(|c| sign_ups::find_live(c, &other.id, "live", now)).unwrap().is_none());

    // The email got an account some other way meanwhile: the link is spent, nothing is created
    // or overwritten (on PostgreSQL, the refused insert must not doom the transaction either).
    let taken = sign_up(&f, "taken", "idx-ada", now + 60_000);
    assert_eq!(complete("taken", taken, "idx-ada"), None);
    assert!(f.store.with_connection(|c| sign_ups::find_live(c, &f.site.id, "taken", now)).unwrap().is_none());
    assert!(f.store.with_connection(|c| users::find(c, &f.site.id, &taken)).unwrap().is_none());
    assert_eq!(complete("live", live, "idx-eve").map(|u| u.id), Some(live));
}

fn bob(f: &Fixture) -> UserId {
    f.store.with_connection(|c| users::create(c, &new_user(f.site.id, "idx-bob"))).unwrap().id
}

#[test]
fn one_pair_of_people_gets_one_direct_room_from_either_side() {
    let f = fixture();
    let (ada, bob) = (f.author.id, bob(&f));
    let (room, created) = f.store.with_connection(|c| rooms::find_or_create_direct(c, &f.site.id, &ada, &bob)).unwrap();
    assert!(created);
    let (again, created) =
        f.store.with_connection(|c| rooms::find_or_create_direct(c, &f.site.id, &bob, &ada)).unwrap();
    assert!(!created);
    assert_eq!(again.id, room.id);
    let people = f.store.with_connection(|c| palisade_store::members::list(c, &room.id)).unwrap();
    assert_eq!(people.len(), 2);
}

#[test]
fn a_ban_outlives_leaving_and_joining() {
    let f = fixture();
    let bob = bob(&f);
    let room = f.room;
    f.store.with_connection(|c| palisade_store::members::ban(c, &room, &bob)).unwrap();
    assert!(!f.store.with_connection(|c| palisade_store::members::remove(c, &room, &bob)).unwrap());
    assert!(!f.store.with_connection(|c| palisade_store::members::join(c, &room, &bob)).unwrap());
    let row = f.store.with_connection(|c| palisade_store::members::membership(c, &room, &bob)).unwrap().unwrap();
    assert!(row.banned);
    assert_eq!(f.store.with_connection(|c| palisade_store::members::mark_read(c, &room, &bob, 1)).unwrap(), None);
    assert!(f.store.with_connection(|c| palisade_store::members::unban(c, &room, &bob)).unwrap());
    assert!(f.store.with_connection(|c| palisade_store::members::join(c, &room, &bob)).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_arriving_together_share_commits_and_each_gets_its_own_answer() {
    use palisade_store::group_commit::{Appender, QueuedMessage};
    let f = fixture();
    let appender = Appender::spawn(f.store.clone(), 64);
    let queued = |room: RoomId, client_id: ClientMessageId| QueuedMessage {
        id: MessageId(Uuid::new_v4()),
        room,
        author: f.author.id,
        author_name: "Ada".into(),
        client_id,
        body: sealed(1, "hello"),
    };
    let retried = new_client_id();
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..100 {
        let client_id = if n % 50 == 0 { retried } else { new_client_id() };
        let (appender, message) = (appender.clone(), queued(f.room, client_id));
        sends.spawn(async move { appender.append(message).await });
    }
    let nowhere = queued(RoomId(Uuid::new_v4()), new_client_id());
    let lost = appender.append(nowhere).await;
    assert!(matches!(lost, Err(StoreError::NotFound)), "a bad message fails alone: {lost:?}");
    let mut seqs = Vec::new();
    let mut duplicates = 0;
    while let Some(answer) = sends.join_next().await {
        match answer.unwrap().unwrap() {
            Appended::New(message) => seqs.push(message.seq),
            Appended::Duplicate(_) => duplicates += 1,
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=99).collect::<Vec<u64>>(), "every message once, with no gap in its room");
    assert_eq!(duplicates, 1);
    let (stored, _) = f.store.with_connection(|c| messages::page(c, &f.room, Cursor::After(0), 100)).unwrap();
    assert_eq!(stored.len(), 99, "answered means committed");
    assert!(appender.commits() < 100, "{} commits for 101 messages: no batching", appender.commits());
}
