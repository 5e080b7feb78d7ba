//! Where the keys come from at start-up, how a running server picks up rotated keys, and the
//! `keys` administration commands.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use palisade_store::vault_keys::{self, StoredKey};
use palisade_store::{Store, StoreError};
use palisade_vault::{BlindIndexKey, DekState, Kek, KeyFileError, Keyring, KeyringError, WrappedDek};

use super::Sealer;
use crate::audit::Audit;
use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum KeySetupError {
    #[error(
        "the database holds data keys wrapped by a key-encryption key, but {path} does not exist. Restore the KEK \
         from your key backup (or point kek_file / PALISADE_KEK_FILE at it). A new KEK would not open any of the \
         existing data, so none is created."
    )]
    KekMissing { path: PathBuf },
    #[error(
        "the database holds accounts indexed with a blind-index key, but {path} does not exist. Restore it from your \
         key backup; a new key would make every existing email unfindable."
    )]
    IndexKeyMissing { path: PathBuf },
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("stored data key {id} has an unknown state {state:?}")]
    UnknownState { id: u32, state: String },
    #[error("{0}")]
    Refused(String),
}

fn kek_path(config: &Config) -> (PathBuf, bool) {
    match &config.kek_file {
        Some(path) => (path.clone(), true),
        None => (config.data_dir.join("keys").join("kek.key"), false),
    }
}

fn index_key_path(config: &Config) -> (PathBuf, bool) {
    match &config.blind_index_key_file {
        Some(path) => (path.clone(), true),
        None => (config.data_dir.join("keys").join("blind-index.key"), false),
    }
}

fn to_wrapped(stored: &[StoredKey]) -> Result<Vec<WrappedDek>, KeySetupError> {
    stored
        .iter()
        .map(|key| {
            let state = key
                .state
                .parse::<DekState>()
                .map_err(|_| KeySetupError::UnknownState { id: key.id, state: key.state.clone() })?;
            Ok(WrappedDek { id: key.id, state, wrapped: key.wrapped.clone() })
        })
        .collect()
}

fn to_stored(wrapped: &WrappedDek) -> StoredKey {
    StoredKey { id: wrapped.id, state: wrapped.state.as_str().to_owned(), wrapped: wrapped.wrapped.clone() }
}

/// Loads the KEK at `path`, turning "missing" into the refusal that explains why.
fn load_existing_kek(path: &Path) -> Result<Kek, KeySetupError> {
    Kek::load(path).map_err(|e| match e {
        KeyFileError::Missing { .. } => KeySetupError::KekMissing { path: path.to_owned() },
        other => other.into(),
    })
}

/// The keyring of the stored data keys, unwrapped with the KEK at `path`.
fn open_keyring(store: &Store, path: &Path) -> Result<Keyring, KeySetupError> {
    let stored = store.with_connection(vault_keys::list)?;
    Ok(Keyring::unwrap_all(load_existing_kek(path)?, &to_wrapped(&stored)?)?)
}

impl Sealer {
    /// The keys for `config`: on a fresh database a KEK (unless one was configured) and a first
    /// data key are created; otherwise the stored data keys must unwrap under the KEK, or the
    /// server refuses to start rather than write data nobody could read.
    pub fn load(config: &Config, store: &Store, audit: Audit) -> Result<Self, KeySetupError> {
        let (kek_path, kek_configured) = kek_path(config);
        let stored = store.with_connection(vault_keys::list)?;
        let keyring = if stored.is_empty() {
            let kek = match Kek::load(&kek_path) {
                Err(KeyFileError::Missing { .. }) if !kek_configured => Kek::create(&kek_path)?,
                other => other?,
            };
            let (keyring, first) = Keyring::initialize(kek, 1)?;
            store.with_connection(|c| vault_keys::insert(c, &to_stored(&first)))?;
            tracing::info!(kek = %keyring.kek_fingerprint(), "created the first data-encryption key");
            keyring
        } else {
            open_keyring(store, &kek_path)?
        };
        let (index_path, index_configured) = index_key_path(config);
        let index = match BlindIndexKey::load(&index_path) {
            Err(KeyFileError::Missing { .. })
                if !index_configured && store.with_connection(vault_keys::no_users)? =>
            {
                BlindIndexKey::create(&index_path)?
            }
            Err(KeyFileError::Missing { .. }) => return Err(KeySetupError::IndexKeyMissing { path: index_path }),
            other => other?,
        };
        Ok(Self { keyring: RwLock::new(keyring), index, kek_path, audit })
    }

    /// Re-reads the stored data keys when they changed (a rotation or retirement by
    /// `palisade-server keys`, perhaps on another instance). The KEK file is read afresh, so a
    /// KEK replaced after `keys rotate-kek` is picked up too. On any error the current keyring
    /// stays in use. Returns whether the keyring changed.
    pub fn reload(&self, store: &Store) -> Result<bool, KeySetupError> {
        let stored = store.with_connection(vault_keys::list)?;
        let mut wanted: Vec<(u32, DekState)> = to_wrapped(&stored)?.iter().map(|w| (w.id, w.state)).collect();
        let mut current = self.keyring().key_states();
        wanted.sort_by_key(|(id, _)| *id);
        current.sort_by_key(|(id, _)| *id);
        if wanted == current {
            return Ok(false);
        }
        let fresh = Keyring::unwrap_all(load_existing_kek(&self.kek_path)?, &to_wrapped(&stored)?)?;
        tracing::info!(active = fresh.active_id(), "data keys reloaded");
        *self.keyring.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(true)
    }
}

/// The `palisade-server keys …` commands. Each works on the database directly, so it can run
/// while servers are up; they pick up the change within their reload interval.
pub mod admin {
    use super::*;

    /// A line per data key: id, state, and how many stored values use it.
    pub fn status(config: &Config, store: &Store) -> Result<Vec<String>, KeySetupError> {
        let keyring = open_keyring(store, &kek_path(config).0)?;
        let mut lines = vec![format!("KEK fingerprint {}", keyring.kek_fingerprint())];
        for (id, state) in keyring.key_states() {
            let usage = store.with_connection(|c| vault_keys::usage(c, id))?;
            lines.push(format!("key {id}\t{state}\t{usage}"));
        }
        let left = store.with_connection(|c| vault_keys::not_under(c, keyring.active_id()))?;
        lines.push(format!("values still to re-encrypt under key {}: {}", keyring.active_id(), left.total()));
        Ok(lines)
    }

    /// The blind index of an email on a site, for finding an account from the command line.
    pub fn email_index(config: &Config, site: &uuid::Uuid, email: &str) -> Result<String, KeySetupError> {
        let key = BlindIndexKey::load(index_key_path(config).0)?;
        Ok(super::super::email_index_under(&key, site, email))
    }

    /// Makes a new active data key; running servers re-encrypt older values in the background.
    pub fn rotate(config: &Config, store: &Store) -> Result<String, KeySetupError> {
        let keyring = open_keyring(store, &kek_path(config).0)?;
        let next = store.with_connection(vault_keys::next_id)?;
        let pending = keyring.prepare_rotation(next)?;
        let demoted = pending.demoted_id();
        store.with_connection(|c| {
            vault_keys::rotate(c, &to_stored(pending.wrapped()), demoted, DekState::DecryptOnly.as_str())
        })?;
        Ok(format!("key {next} is now active; key {demoted} is decrypt-only until its values are re-encrypted"))
    }

    /// Retires a data key, only once nothing is sealed under it.
    pub fn retire(config: &Config, store: &Store, id: u32) -> Result<String, KeySetupError> {
        let keyring = open_keyring(store, &kek_path(config).0)?;
        match keyring.key_states().into_iter().find(|(key, _)| *key == id) {
            None => return Err(KeySetupError::Refused(format!("there is no data key {id}"))),
            Some((_, DekState::Active)) => {
                return Err(KeySetupError::Refused(format!("key {id} is active; rotate first")));
            }
            Some(_) => {}
        }
        let usage = store.with_connection(|c| vault_keys::usage(c, id))?;
        if usage.total() > 0 {
            return Err(KeySetupError::Refused(format!(
                "key {id} still seals {usage}; wait for re-encryption (see `keys status`)"
            )));
        }
        store.with_connection(|c| vault_keys::set_state(c, id, DekState::Retired.as_str()))?;
        Ok(format!("key {id} is retired"))
    }

    /// Wraps every data key under the KEK in `new_kek_file` (created 0600 if it does not exist).
    pub fn rotate_kek(config: &Config, store: &Store, new_kek_file: &Path) -> Result<String, KeySetupError> {
        let (old_path, _) = kek_path(config);
        let old = load_existing_kek(&old_path)?;
        let new = match Kek::load(new_kek_file) {
            Err(KeyFileError::Missing { .. }) => Kek::create(new_kek_file)?,
            other => other?,
        };
        let stored = store.with_connection(vault_keys::list)?;
        let rewrapped = Keyring::rewrap(&old, &new, &to_wrapped(&stored)?)?;
        let rows: Vec<StoredKey> = rewrapped.iter().map(to_stored).collect();
        store.with_connection(|c| vault_keys::replace_wrapped(c, &rows))?;
        Ok(format!(
            "every data key is now wrapped by the KEK in {} (fingerprint {}). Put that file where {} is (or point \
             kek_file at it) before the next start, and back it up; the old KEK no longer opens anything.",
            new_kek_file.display(),
            new.fingerprint(),
            old_path.display()
        ))
    }
}
