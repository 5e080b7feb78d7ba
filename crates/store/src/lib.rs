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

use std::sync::Arc;

use connection::Pool;
use tokio::sync::Semaphore;

/// A pool of connections to the configured database.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
    /// One permit per pooled connection. Callers beyond the pool wait here as tasks, not as
    /// blocking threads parked on the pool: thousands of sockets authenticating at once would
    /// otherwise start hundreds of threads, whose memory the process keeps after the burst.
    turns: Arc<Semaphore>,
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
        let turns = Arc::new(Semaphore::new(pool.max_size() as usize));
        Ok(Self { pool, backend, turns })
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
        let turn = Arc::clone(&self.turns).acquire_owned().await.map_err(|_| StoreError::TaskFailed)?;
        tokio::task::spawn_blocking(move || {
            // Held until the work is done, even if the caller stops waiting for it.
            let _turn = turn;
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use super::*;
    use crate::test_support::TestDatabase;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_callers_waits_as_tasks_not_as_threads() {
        let database = TestDatabase::create();
        let store = Store::open(database.url(), 4).unwrap();
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let calls: Vec<_> = (0..200)
            .map(|_| {
                let (store, threads) = (store.clone(), Arc::clone(&threads));
                tokio::spawn(async move {
                    store
                        .interact(move |_| {
                            threads.lock().unwrap().insert(std::thread::current().id());
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        // Without the permits, each of the 200 gets a blocking thread of its own to wait on.
        let used = threads.lock().unwrap().len();
        assert!(used <= 8, "{used} threads for a pool of 4");
    }
}
