//! OAuth identities, transactions and codes against a real database: SQLite by default,
//! PostgreSQL with `PALISADE_TEST_DATABASE=postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use palisade_protocol::{SitePublicId, UserId};
use palisade_store::oauth::{self, Linked, LoginCode, Transaction};
use palisade_store::test_support::TestDatabase;
use palisade_store::{Sealed, Store, StoreError, sites, users};
use uuid::Uuid;

fn setup() -> (TestDatabase, Store, sites::Site) {
    let db = TestDatabase::create();
    let store = Store::open(db.url(), 2).unwrap();
    let site_id: SitePublicId = "acme".parse().unwrap();
    let site = store.with_connection(|c| sites::create(c, &site_id, "Acme", &["https://acme.example".into()])).unwrap();
    (db, store, site)
}

fn new_user<'a>(site: &sites::Site, email_index: &'a str, email: &'a Sealed) -> users::NewUser<'a> {
    users::NewUser {
        id: UserId(Uuid::new_v4()),
        site_id: site.id,
        email_index,
        email,
        display_name: "Ada",
        password_hash: "hash",
    }
}

#[test]
fn an_account_made_by_a_provider_keeps_its_last_way_in() {
    let (_db, store, site) = setup();
    let email = Sealed { key_id: 1, bytes: b"sealed".to_vec() };
    let index = format!("{}{}", oauth::PROVIDER_ONLY_EMAIL_INDEX_PREFIX, Uuid::new_v4());
    let user =
        store.with_connection(|c| oauth::create_account(c, &new_user(&site, &index, &email), "github", "1")).unwrap();
    let found = store.with_connection(|c| oauth::find_identity(c, &site.id, "github", "1")).unwrap();
    assert_eq!(found, Some(user.id));
    // The same subject cannot make a second account: the whole creation rolls back.
    let again = store.with_connection(|c| oauth::create_account(c, &new_user(&site, "other", &email), "github", "1"));
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert!(store.with_connection(|c| users::find_credentials(c, &site.id, "other")).unwrap().is_none());

    let refused = store.with_connection(|c| oauth::unlink_identity(c, &user.id, "github"));
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(store.with_connection(|c| oauth::identities_of(c, &user.id)).unwrap().len(), 1, "rolled back");
    let linked = store.with_connection(|c| oauth::link_identity(c, &site.id, &user.id, "google", "g-1")).unwrap();
    assert_eq!(linked, Linked::Added);
    assert!(store.with_connection(|c| oauth::unlink_identity(c, &user.id, "github")).unwrap());
    assert!(!store.with_connection(|c| oauth::unlink_identity(c, &user.id, "github")).unwrap());
}

#[test]
fn identities_are_never_moved_between_accounts() {
    let (_db, store, site) = setup();
    let email = Sealed { key_id: 1, bytes: b"sealed".to_vec() };
    let ada = store.with_connection(|c| users::create(c, &new_user(&site, "ada", &email))).unwrap();
    let bob = store.with_connection(|c| users::create(c, &new_user(&site, "bob", &email))).unwrap();
    let link = |user: &UserId| store.with_connection(|c| oauth::link_identity(c, &site.id, user, "mock", "s")).unwrap();
    assert_eq!(link(&ada.id), Linked::Added);
    assert_eq!(link(&ada.id), Linked::AlreadyYours);
    assert_eq!(link(&bob.id), Linked::TakenByAnother);
    assert_eq!(store.with_connection(|c| oauth::find_identity(c, &site.id, "mock", "s")).unwrap(), Some(ada.id));
}

#[test]
fn transactions_and_codes_are_taken_once() {
    let (_db, store, site) = setup();
    let t = transaction(&site);
    store.with_connection(|c| oauth::create_transaction(c, "state", &t)).unwrap();
    assert_eq!(store.with_connection(|c| oauth::take_transaction(c, "state")).unwrap(), Some(t));
    assert_eq!(store.with_connection(|c| oauth::take_transaction(c, "state")).unwrap(), None);

    let email = Sealed { key_id: 1, bytes: b"sealed".to_vec() };
    let user = store.with_connection(|c| users::create(c, &new_user(&site, "ada", &email))).unwrap();
    let code = LoginCode { user: user.id, provider: "mock".into(), code_challenge: "c".into(), expires_at: 10 };
    store.with_connection(|c| oauth::create_login_code(c, "code", &site.id, &code)).unwrap();
    assert_eq!(store.with_connection(|c| oauth::take_login_code(c, "code", &Uuid::new_v4())).unwrap(), None, "site");
    assert_eq!(store.with_connection(|c| oauth::take_login_code(c, "code", &site.id)).unwrap(), Some(code));
    assert_eq!(store.with_connection(|c| oauth::take_login_code(c, "code", &site.id)).unwrap(), None);

    store
        .with_connection(|c| oauth::create_transaction(c, "old", &Transaction { expires_at: 5, ..transaction(&site) }))
        .unwrap();
    assert_eq!(store.with_connection(|c| oauth::prune(c, 6)).unwrap(), 1);
}

fn transaction(site: &sites::Site) -> Transaction {
    Transaction {
        binding_hash: "b".into(),
        site_id: site.id,
        provider: "mock".into(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        origin: "https://acme.example".into(),
        code_challenge: "c".into(),
        link_user: None,
        expires_at: 10,
    }
}
