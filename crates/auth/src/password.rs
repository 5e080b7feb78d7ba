//! argon2id password hashing on the blocking pool, with bounded concurrency.
//!
//! Each hash costs ~19 MiB and tens of milliseconds of CPU by design. Running them on the async
//! workers would stall every connection; running unboundedly would let a login flood exhaust
//! memory. So hashes run on the blocking pool behind a semaphore, and a caller that cannot get a
//! permit quickly is told the server is busy instead of queueing without bound.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use thiserror::Error;
use tokio::sync::Semaphore;

/// OWASP's argon2id baseline (ASVS 11.4.2): 19 MiB, 2 passes, 1 lane.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

#[derive(Debug, Error)]
pub enum PasswordError {
    #[error("too many password checks in progress")]
    Busy,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password (or no such account: see [`PasswordHasher::verify_absent`]).
    No,
    /// Right password, and the stored hash uses the current parameters.
    Yes,
    /// Right password; here is a hash with the current parameters to store instead.
    YesRehashed(String),
}

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    wait: Duration,
    // Verified against when the account does not exist, so that an unknown email costs the same
    // time as a wrong password and timing does not reveal which emails have accounts.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("available", &self.permits.available_permits()).finish()
    }
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

fn uses_current_params(hash: &PasswordHash<'_>) -> bool {
    hash.algorithm == Algorithm::Argon2id.ident()
        && Params::try_from(hash)
            .is_ok_and(|p| p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM)
}

fn verify_now(password: &str, stored: &str) -> Result<Verified, PasswordError> {
    let Ok(parsed) = PasswordHash::new(stored) else {
        // A malformed stored hash can never match; treat it as a wrong password, not a crash.
        return Ok(Verified::No);
    };
    if argon2()?.verify_password(password.as_bytes(), &parsed).is_err() {
        return Ok(Verified::No);
    }
    if uses_current_params(&parsed) { Ok(Verified::Yes) } else { Ok(Verified::YesRehashed(hash_now(password)?)) }
}

impl PasswordHasher {
    /// `max_concurrent` hashes at once; a caller waits at most `wait` for a turn.
    pub fn new(max_concurrent: usize, wait: Duration) -> Result<Self, PasswordError> {
        let dummy_hash = hash_now("palisade dummy password for absent accounts")?;
        Ok(Self { permits: Arc::new(Semaphore::new(max_concurrent.max(1))), wait, dummy_hash: dummy_hash.into() })
    }

    async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<R, PasswordError> + Send + 'static,
    ) -> Result<R, PasswordError> {
        let permit = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| PasswordError::Busy)?
            .map_err(|_| PasswordError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let result = job();
            drop(permit);
            result
        })
        .await
        .map_err(|e| PasswordError::Hashing(e.to_string()))?
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move || hash_now(&password)).await
    }

    pub async fn verify(&self, password: String, stored: String) -> Result<Verified, PasswordError> {
        self.run(move || verify_now(&password, &stored)).await
    }

    /// Spends the same effort as [`Self::verify`] for an account that does not exist.
    pub async fn verify_absent(&self, password: String) -> Result<Verified, PasswordError> {
        let dummy = self.dummy_hash.to_string();
        self.run(move || verify_now(&password, &dummy).map(|_| Verified::No)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(2, Duration::from_secs(30)).unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_parameters() {
        let hash = hasher().hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    }

    #[tokio::test]
    async fn verify_distinguishes_right_wrong_and_stale() {
        let h = hasher();
        let hash = h.hash("correct horse battery".into()).await.unwrap();
        assert_eq!(h.verify("correct horse battery".into(), hash.clone()).await.unwrap(), Verified::Yes);
        assert_eq!(h.verify("correct horse batter".into(), hash).await.unwrap(), Verified::No);
        assert_eq!(h.verify("x".into(), "not a hash".into()).await.unwrap(), Verified::No);

        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8, 1, 1, None).unwrap())
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        match h.verify("correct horse battery".into(), weak).await.unwrap() {
            Verified::YesRehashed(new) => assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn absent_accounts_never_verify() {
        let h = hasher();
        assert_eq!(h.verify_absent("palisade dummy password for absent accounts".into()).await.unwrap(), Verified::No);
    }

    #[tokio::test]
    async fn a_saturated_hasher_says_busy_instead_of_queueing_forever() {
        let h = PasswordHasher::new(1, Duration::from_millis(1)).unwrap();
        let held = Arc::clone(&h.permits).acquire_owned().await.unwrap();
        assert!(matches!(h.hash("correct horse battery".into()).await, Err(PasswordError::Busy)));
        drop(held);
        assert!(h.hash("correct horse battery".into()).await.is_ok());
    }
}
