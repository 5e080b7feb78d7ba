//! Palisade's storage. Every query is scoped by site; callers never see SQL.
//!
//! Repository functions are synchronous and take a [`DbConnection`]; [`Store::interact`] runs
//! them on the blocking pool so async request handlers never wait on the database directly.

pub mod audit;
mod connection;
mod error;
pub mod group_commit;
mod ids;
pub mod login_throttle;
pub mod members;
pub mod messages;
pub mod mfa;
pub mod oauth;
pub mod password_resets;
pub mod rooms;
mod schema;
pub mod sessions;
pub mod sign_ups;
pub mod sites;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod users;
pub mod vault_keys;

pub use connection::{Backend, DbConnection};
pub use error::StoreError;

use connection::Pool;

/// A pool of connections to the configured database.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens `url` (a SQLite path or a `postgres://` URL), migrating it to the current schema.
    pub fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let (backend, pool) = connection::open_pool(url, max_connections)?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn interact<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|_| StoreError::TaskFailed)?
    }

    /// Runs `f` with a pooled connection on the calling thread (for CLI commands and start-up).
    pub fn with_connection<R>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }
}

/// A value sealed by the vault, and the id of the data key it is sealed under. Storage keeps
/// the id beside the bytes so re-encryption can find old values without opening any.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: u32,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed").field("key_id", &self.key_id).field("len", &self.bytes.len()).finish()
    }
}

/// Now, in Unix milliseconds: the one clock every stored timestamp comes from.
pub fn now_millis() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
