//! Connections to either backend behind one type, pooled, with migrations run on open.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the database URL names. Queries are written once against
/// this type and run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` are PostgreSQL; anything else is a SQLite path or
    /// `sqlite://` URL. Chosen explicitly rather than by trying each driver in turn, so an
    /// unreachable PostgreSQL can never silently become a new SQLite file named like its URL.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") { Self::Postgres } else { Self::Sqlite }
    }
}

// WAL lets readers proceed during a write; FULL sync because an acknowledged message must
// survive power loss; the busy timeout turns writer contention into waiting, not errors.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA busy_timeout = 5000;
PRAGMA foreign_keys = ON;";

/// Runs `work` in a transaction meant to write. Every store transaction goes through here.
///
/// SQLite's default (deferred) transaction reads from a snapshot and asks for the write lock
/// only at its first write. If another connection committed in between, that upgrade fails at
/// once with "database is locked": the busy timeout cannot help, because the snapshot is stale.
/// `BEGIN IMMEDIATE` takes the write lock up front, so contention waits instead of failing.
/// PostgreSQL and nested calls (savepoints) take diesel's usual path.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else { return conn.transaction(work) };
    if AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()?.is_some() {
        return conn.transaction(work);
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match work(conn) {
        Ok(value) => {
            DbConnection::commit_transaction(conn)?;
            Ok(value)
        }
        // As diesel's own `transaction` does: the caller's error wins unless the rollback
        // itself failed in a way that leaves the connection unusable.
        Err(error) => match DbConnection::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

fn establish(backend: Backend, url: &str) -> Result<DbConnection, diesel::ConnectionError> {
    match backend {
        Backend::Postgres => PgConnection::establish(url).map(DbConnection::Postgres),
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(sqlite_path(url))?;
            conn.batch_execute(SQLITE_PRAGMAS).map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// Hands out connections of the configured backend to the pool.
#[derive(Debug)]
pub struct ConnectionManager {
    backend: Backend,
    url: String,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        establish(self.backend, &self.url)
    }

    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(drop)
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut Self::Connection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

/// Opens the database, applies pending migrations, and returns a pool.
pub fn open_pool(url: &str, max_size: u32) -> Result<(Backend, Pool), StoreError> {
    let backend = Backend::of_url(url);
    let mut conn = establish(backend, url)?;
    let applied = match &mut conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    if applied > 0 {
        tracing::info!(applied, ?backend, "database migrations applied");
    }
    drop(conn);
    // SQLite has one writer at a time; a small pool avoids piling writers onto its lock.
    let max_size = match backend {
        Backend::Sqlite => max_size.min(8),
        Backend::Postgres => max_size,
    };
    let pool = r2d2::Pool::builder()
        .max_size(max_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .build(ConnectionManager { backend, url: url.to_owned() })?;
    Ok((backend, pool))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;

    use super::*;
    use crate::test_support::TestDatabase;

    #[test]
    fn backend_is_chosen_by_scheme_only() {
        assert_eq!(Backend::of_url("postgres://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("data/palisade.db"), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite:///tmp/x.db"), Backend::Sqlite);
        assert_eq!(sqlite_path("sqlite:///tmp/x.db"), "/tmp/x.db");
    }

    #[test]
    fn a_transaction_that_reads_then_writes_survives_a_writer_committing_in_between() {
        let db = TestDatabase::create();
        let (_, pool) = open_pool(db.url(), 2).unwrap();
        let (mut first, mut second) = (pool.get().unwrap(), pool.get().unwrap());
        diesel::sql_query("CREATE TABLE counter (n INTEGER NOT NULL)").execute(&mut first).unwrap();
        diesel::sql_query("INSERT INTO counter (n) VALUES (0)").execute(&mut first).unwrap();

        let (has_read, read_seen) = mpsc::channel();
        let (other_finished, other_done) = mpsc::channel();
        let other_writer = thread::spawn(move || {
            read_seen.recv().unwrap();
            let written = diesel::sql_query("UPDATE counter SET n = n + 10").execute(&mut second);
            other_finished.send(()).unwrap();
            written
        });
        let ours: Result<usize, diesel::result::Error> = write_transaction(&mut first, |conn| {
            diesel::sql_query("SELECT n FROM counter").execute(conn)?;
            has_read.send(()).unwrap();
            // Let the other writer commit between our read and our write if it can, as a
            // busy server lets it.
            let _ = other_done.recv_timeout(Duration::from_millis(300));
            diesel::sql_query("UPDATE counter SET n = n + 1").execute(conn)
        });

        assert_eq!(ours.unwrap(), 1, "our write goes through");
        assert_eq!(other_writer.join().unwrap().unwrap(), 1, "so does theirs, after ours");
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            n: i32,
        }
        let count: Count = diesel::sql_query("SELECT n FROM counter").get_result(&mut first).unwrap();
        assert_eq!(count.n, 11);
    }
}
