//! Throwaway databases for tests: a temp SQLite file, or a freshly created PostgreSQL
//! database, chosen by `PALISADE_TEST_DATABASE=sqlite|postgres` (default sqlite).

use diesel::{Connection, RunQueryDsl, pg::PgConnection};

/// A database that exists for one test and is removed when dropped.
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase").field("url", &self.url).finish()
    }
}

impl TestDatabase {
    /// # Panics
    /// When the database cannot be created: a test cannot run without it.
    #[allow(clippy::panic)]
    pub fn create() -> Self {
        match std::env::var("PALISADE_TEST_DATABASE").as_deref() {
            Ok("postgres") => Self::postgres(),
            Ok("sqlite") | Err(_) => Self::sqlite(),
            Ok(other) => panic!("PALISADE_TEST_DATABASE must be sqlite or postgres, not {other:?}"),
        }
    }

    #[allow(clippy::expect_used)]
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the test database");
        let url = dir.path().join("palisade.db").to_string_lossy().into_owned();
        Self { url, cleanup: Cleanup::Sqlite(dir) }
    }

    #[allow(clippy::expect_used)]
    fn postgres() -> Self {
        let given = std::env::var("PALISADE_TEST_POSTGRES_URL").ok();
        // The local server speaks TLS when asked, and libpq asks by default. A test process
        // that then exits while a pool thread still holds a connection can crash in OpenSSL's
        // exit-time cleanup (seen here: SIGSEGV after every test had passed; diesel#3441), and
        // on loopback TLS protects nothing. A server given by URL keeps its own settings.
        let options = if given.is_some() { "" } else { "?sslmode=disable" };
        let server = given.unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".to_owned());
        let server = server.trim_end_matches('/').to_owned();
        let admin_url = format!("{server}/postgres{options}");
        // The name is hex from a fresh UUID: safe to place in DDL, which takes no parameters.
        let name = format!("palisade_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).expect("connect to PostgreSQL for tests");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create test database");
        Self { url: format!("{server}/{name}{options}"), cleanup: Cleanup::Postgres { admin_url, name } }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
        }
    }
}
