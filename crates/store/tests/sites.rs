//! Site settings, removing a site, and message retention against a real database (SQLite by
//! default, PostgreSQL with `PALISADE_TEST_DATABASE=postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use diesel::RunQueryDsl;
use palisade_protocol::sites::SignUpMode;
use palisade_protocol::{ClientMessageId, MessageId, RoomId, SessionId, UserId};
use palisade_store::audit::AuditRecord;
use palisade_store::login_throttle::{self, Key};
use palisade_store::messages::{self, Cursor, NewMessage};
use palisade_store::sites::{self, SiteChanges};
use palisade_store::test_support::TestDatabase;
use palisade_store::{DbConnection, Sealed, Store, StoreError, audit, mfa, password_resets, rooms, sessions};
use palisade_store::{sign_ups, users};
use uuid::Uuid;

const DAY: i64 = 24 * 60 * 60 * 1000;

struct Fixture {
    _db: TestDatabase,
    store: Store,
    site: sites::Site,
    room: RoomId,
    user: UserId,
}

fn fixture() -> Fixture {
    let db = TestDatabase::create();
    let store = Store::open(db.url(), 4).unwrap();
    let site = store
        .with_connection(|c| sites::create(c, &"acme".parse().unwrap(), "Acme", &["https://acme.example".to_owned()]))
        .unwrap();
    let room = store.with_connection(|c| rooms::default_of(c, &site.id)).unwrap().id;
    let user = add_user(&store, site.id, "idx-ada");
    Fixture { _db: db, store, site, room, user }
}

fn add_user(store: &Store, site_id: Uuid, email_index: &str) -> UserId {
    let email = Sealed { key_id: 1, bytes: b"sealed email".to_vec() };
    let new = users::NewUser {
        id: UserId(Uuid::new_v4()),
        site_id,
        email_index,
        email: &email,
        display_name: "Ada",
        password_hash: "hash",
    };
    store.with_connection(|c| users::create(c, &new)).unwrap().id
}

fn send(store: &Store, room: RoomId, author: UserId) -> u64 {
    let body = Sealed { key_id: 1, bytes: b"sealed body".to_vec() };
    let new = NewMessage {
        id: MessageId(Uuid::new_v4()),
        room,
        author,
        author_name: "Ada",
        client_id: ClientMessageId(Uuid::new_v4()),
        body: &body,
    };
    store.with_connection(|c| messages::append(c, &new)).unwrap().message().seq
}

fn seqs(store: &Store, room: RoomId) -> Vec<u64> {
    let (page, _) = store.with_connection(|c| messages::page(c, &room, Cursor::Latest, 100)).unwrap();
    page.iter().map(|m| m.seq).collect()
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows in `table`, whatever the repositories would show of them.
fn rows(conn: &mut DbConnection, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result::<Count>(conn).unwrap().n
}

#[test]
fn a_new_site_is_open_and_keeps_messages_and_update_changes_only_what_it_is_given() {
    let f = fixture();
    assert_eq!((f.site.sign_up, f.site.retention_days), (SignUpMode::Open, None));

    let changes =
        SiteChanges { sign_up: Some(SignUpMode::InviteOnly), retention_days: Some(Some(30)), ..Default::default() };
    let updated = f.store.with_connection(|c| sites::update(c, &f.site.public_id, &changes)).unwrap();
    assert_eq!((updated.sign_up, updated.retention_days), (SignUpMode::InviteOnly, Some(30)));
    assert_eq!((updated.name.as_str(), updated.allowed_origins.clone()), ("Acme", f.site.allowed_origins.clone()));

    let renamed = SiteChanges { name: Some("Acme Inc".into()), retention_days: Some(None), ..Default::default() };
    let updated = f.store.with_connection(|c| sites::update(c, &f.site.public_id, &renamed)).unwrap();
    assert_eq!(updated.name, "Acme Inc");
    assert_eq!((updated.sign_up, updated.retention_days), (SignUpMode::InviteOnly, None));
    let listed = f.store.with_connection(sites::list).unwrap();
    assert_eq!(listed, vec![updated]);

    let missing = f.store.with_connection(|c| sites::update(c, &"nope".parse().unwrap(), &changes));
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

#[test]
fn removing_a_site_removes_everything_of_it_but_its_audit_trail() {
    let f = fixture();
    let other = f.store.with_connection(|c| sites::create(c, &"globex".parse().unwrap(), "Globex", &[])).unwrap();
    let other_user = add_user(&f.store, other.id, "idx-ada");
    for _ in 0..3 {
        send(&f.store, f.room, f.user);
    }
    let session = sessions::NewSession {
        id: SessionId(Uuid::new_v4()),
        user: f.user,
        now: 0,
        expires_at: i64::MAX,
        device: "Firefox on Linux",
        ip: None,
        token_hash: "refresh",
        mfa_pending: false,
    };
    let sealed = Sealed { key_id: 1, bytes: b"sealed".to_vec() };
    f.store
        .with_connection(|c| {
            sessions::create(c, &session)?;
            mfa::put_pending_totp(c, &f.user, &sealed)?;
            mfa::replace_recovery_codes(c, &f.user, &["code".to_owned()])?;
            mfa::create_challenge(c, "ticket", &f.user, i64::MAX)?;
            password_resets::create(c, "reset", &f.user, i64::MAX)?;
            let pending = sign_ups::NewSignUp {
                token_hash: "sign-up",
                site_id: f.site.id,
                user_id: UserId(Uuid::new_v4()),
                email_index: "idx-grace",
                email: &sealed,
                expires_at: i64::MAX,
                invited: true,
            };
            sign_ups::create(c, &pending)?;
            let key = Key { site: &f.site.id, email_index: "idx-grace", scope: "account" };
            login_throttle::record_failure(c, key, 0, DAY, |_| 0)?;
            let trail = AuditRecord {
                id: Uuid::now_v7(),
                at: 0,
                event: "user_created".into(),
                outcome: "success".into(),
                site_id: Some(f.site.id),
                actor_id: Some(f.user.0),
                ip: None,
                user_agent: None,
                details: "{}".into(),
            };
            audit::append(c, &[trail])
        })
        .unwrap();

    let removed = f.store.with_connection(|c| sites::remove(c, &f.site.public_id)).unwrap();
    assert_eq!((removed.id, removed.users, removed.rooms, removed.messages), (f.site.id, 1, 1, 3));

    let conn_rows = |table: &str| f.store.with_connection(|c| Ok(rows(c, table))).unwrap();
    for table in [
        "messages",
        "sessions",
        "refresh_tokens",
        "mfa_totp",
        "recovery_codes",
        "mfa_challenges",
        "password_resets",
        "sign_ups",
        "login_throttle",
    ] {
        assert_eq!(conn_rows(table), 0, "{table}");
    }
    // Only the other site is left, untouched; the trail outlives the site it describes.
    for table in ["sites", "site_origins", "users", "rooms"] {
        let expected = if table == "site_origins" { 0 } else { 1 };
        assert_eq!(conn_rows(table), expected, "{table}");
    }
    assert_eq!(conn_rows("audit_events"), 1);
    assert!(f.store.with_connection(|c| users::find(c, &other.id, &other_user)).unwrap().is_some());
    assert!(f.store.with_connection(|c| sites::find_by_public_id(c, &f.site.public_id)).unwrap().is_none());
    let again = f.store.with_connection(|c| sites::remove(c, &f.site.public_id));
    assert!(matches!(again, Err(StoreError::NotFound)));
}

#[test]
fn retention_deletes_old_messages_of_its_site_only_and_seq_goes_on() {
    let f = fixture();
    let other = f.store.with_connection(|c| sites::create(c, &"globex".parse().unwrap(), "Globex", &[])).unwrap();
    let other_room = f.store.with_connection(|c| rooms::default_of(c, &other.id)).unwrap().id;
    let other_user = add_user(&f.store, other.id, "idx-ada");
    for _ in 0..3 {
        send(&f.store, f.room, f.user);
        send(&f.store, other_room, other_user);
    }
    let keep_a_day = SiteChanges { retention_days: Some(Some(1)), ..Default::default() };
    f.store.with_connection(|c| sites::update(c, &f.site.public_id, &keep_a_day)).unwrap();
    let now = palisade_store::now_millis();

    assert_eq!(f.store.with_connection(|c| sites::prune_past_retention(c, now)).unwrap(), 0, "not a day old yet");
    assert_eq!(f.store.with_connection(|c| sites::prune_past_retention(c, now + 2 * DAY)).unwrap(), 3);
    assert!(seqs(&f.store, f.room).is_empty());
    assert_eq!(seqs(&f.store, other_room), vec![1, 2, 3], "a site without retention keeps everything");

    assert_eq!(f.store.with_connection(|c| rooms::default_of(c, &f.site.id)).unwrap().last_seq, 3);
    assert_eq!(send(&f.store, f.room, f.user), 4, "sequence numbers are never reused");
    assert_eq!(seqs(&f.store, f.room), vec![4]);
}

fn pending_sign_up(f: &Fixture, token_hash: &str, email_index: &'static str, invited: bool) -> users::NewUser<'static> {
    let email: &'static Sealed = Box::leak(Box::new(Sealed { key_id: 1, bytes: b"sealed email".to_vec() }));
    let user_id = UserId(Uuid::new_v4());
    let new = sign_ups::NewSignUp {
        token_hash,
        site_id: f.site.id,
        user_id,
        email_index,
        email,
        expires_at: i64::MAX,
        invited,
    };
    f.store.with_connection(|c| sign_ups::create(c, &new)).unwrap();
    users::NewUser { id: user_id, site_id: f.site.id, email_index, email, display_name: "Grace", password_hash: "hash" }
}

#[test]
fn on_an_invite_only_site_only_invited_sign_ups_complete() {
    let f = fixture();
    let asked = pending_sign_up(&f, "asked", "idx-grace", false);
    let invited = pending_sign_up(&f, "invited", "idx-alan", true);
    let invite_only = SiteChanges { sign_up: Some(SignUpMode::InviteOnly), ..Default::default() };
    f.store.with_connection(|c| sites::update(c, &f.site.public_id, &invite_only)).unwrap();

    let now = palisade_store::now_millis();
    let found = f.store.with_connection(|c| sign_ups::find_live(c, &f.site.id, "asked", now)).unwrap().unwrap();
    assert!(!found.invited);
    assert!(f.store.with_connection(|c| sign_ups::complete(c, "asked", &asked, now)).unwrap().is_none());
    assert!(f.store.with_connection(|c| sign_ups::complete(c, "invited", &invited, now)).unwrap().is_some());

    // Open again, the link someone asked for works: it was only ever the site's choice.
    let open = SiteChanges { sign_up: Some(SignUpMode::Open), ..Default::default() };
    f.store.with_connection(|c| sites::update(c, &f.site.public_id, &open)).unwrap();
    assert!(f.store.with_connection(|c| sign_ups::complete(c, "asked", &asked, now)).unwrap().is_some());
}
