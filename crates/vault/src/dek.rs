//! Data-encryption keys and their wrapped (KEK-sealed) form for storage.

use std::fmt;
use std::str::FromStr;

use crate::aead::{self, NONCE_LEN, TAG_LEN};
use crate::kek::Kek;
use crate::keyring::KeyringError;
use crate::sealed::SealError;
use crate::secret_key::{KEY_LEN, SecretKey};

/// Version of the wrapped-key layout `[version][nonce][sealed key][tag]`, so the wrapping can
/// change later without guessing what old rows hold.
const WRAP_VERSION: u8 = 1;
const WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;
const WRAP_DOMAIN: &[u8] = b"palisade/v1/dek-wrap";

/// Where a data key is in its life.
///
/// Not bound into the wrapping: state changes without rewrapping, and someone who can edit it
/// in the database can at worst make values unreadable, which they could do by deleting rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DekState {
    /// Seals new values; exactly one key is active.
    Active,
    /// Opens values sealed before the last rotation, until re-encryption has moved them on.
    DecryptOnly,
    /// Nothing uses it any more; values naming it are refused.
    Retired,
}

impl DekState {
    /// The spelling to store in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::DecryptOnly => "decrypt_only",
            Self::Retired => "retired",
        }
    }
}

impl fmt::Display for DekState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown data key state {0:?} (expected active, decrypt_only or retired)")]
pub struct UnknownDekState(pub String);

impl FromStr for DekState {
    type Err = UnknownDekState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "decrypt_only" => Ok(Self::DecryptOnly),
            "retired" => Ok(Self::Retired),
            other => Err(UnknownDekState(other.to_owned())),
        }
    }
}

/// A data key as storage persists it: the key sealed under the KEK, with its id bound in as
/// associated data so a wrapped key copied onto another id's row fails to unwrap.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedDek {
    pub id: u32,
    pub state: DekState,
    pub wrapped: Vec<u8>,
}

impl fmt::Debug for WrappedDek {
    // The bytes are ciphertext, but dumping them into logs invites offline attacks for no gain.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedDek")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("wrapped_len", &self.wrapped.len())
            .finish()
    }
}

/// A data key in clear, held only in memory by a [`crate::Keyring`].
pub struct Dek {
    id: u32,
    state: DekState,
    key: SecretKey,
}

impl Dek {
    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn state(&self) -> DekState {
        self.state
    }

    pub(crate) fn generate(id: u32, state: DekState) -> Result<Self, SealError> {
        Ok(Self { id, state, key: SecretKey::generate().map_err(SealError::Randomness)? })
    }

    pub(crate) fn key(&self) -> &SecretKey {
        &self.key
    }

    pub(crate) fn set_state(&mut self, state: DekState) {
        self.state = state;
    }

    pub(crate) fn wrap(&self, kek: &Kek) -> Result<WrappedDek, SealError> {
        let nonce = aead::random_nonce().map_err(SealError::Randomness)?;
        let mut wrapped = Vec::with_capacity(WRAPPED_LEN);
        wrapped.push(WRAP_VERSION);
        wrapped.extend_from_slice(&nonce);
        aead::seal_into(kek.key(), &nonce, &wrap_associated_data(self.id), self.key.as_bytes(), &mut wrapped)
            .map_err(|aead::TooLong| SealError::TooLarge)?;
        Ok(WrappedDek { id: self.id, state: self.state, wrapped })
    }

    /// Fails with [`KeyringError::WrongKek`] when the key does not open: with a correct KEK that
    /// only happens if the stored bytes or id were altered, and either way nothing can be
    /// trusted to decrypt.
    pub(crate) fn unwrap(kek: &Kek, stored: &WrappedDek) -> Result<Self, KeyringError> {
        let malformed = || KeyringError::MalformedWrappedDek { id: stored.id, len: stored.wrapped.len() };
        if stored.wrapped.len() != WRAPPED_LEN {
            return Err(malformed());
        }
        let Some((&version, rest)) = stored.wrapped.split_first() else {
            return Err(malformed());
        };
        if version != WRAP_VERSION {
            return Err(malformed());
        }
        let (nonce, sealed_key) = rest.split_at_checked(NONCE_LEN).ok_or_else(malformed)?;
        let nonce = nonce.try_into().map_err(|_| malformed())?;
        let opened = aead::open(kek.key(), &nonce, &wrap_associated_data(stored.id), sealed_key)
            .map_err(|aead::AuthenticationFailed| KeyringError::WrongKek { id: stored.id })?;
        if opened.len() != KEY_LEN {
            return Err(malformed());
        }
        let mut key = SecretKey::zeroed();
        key.as_mut_bytes().copy_from_slice(&opened);
        Ok(Self { id: stored.id, state: stored.state, key })
    }
}

impl fmt::Debug for Dek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dek").field("id", &self.id).field("state", &self.state).finish_non_exhaustive()
    }
}

fn wrap_associated_data(id: u32) -> Vec<u8> {
    let mut associated = Vec::with_capacity(WRAP_DOMAIN.len() + 1 + 4);
    associated.extend_from_slice(WRAP_DOMAIN);
    associated.push(WRAP_VERSION);
    associated.extend_from_slice(&id.to_be_bytes());
    associated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> Kek {
        Kek::from_bytes([9; KEY_LEN])
    }

    #[test]
    fn wrap_unwrap_round_trip() {
        let dek = Dek::generate(3, DekState::Active).unwrap();
        let wrapped = dek.wrap(&kek()).unwrap();
        assert_eq!((wrapped.id, wrapped.state, wrapped.wrapped.len()), (3, DekState::Active, WRAPPED_LEN));
        assert!(!wrapped.wrapped.windows(KEY_LEN).any(|w| w == dek.key().as_bytes()));
        let back = Dek::unwrap(&kek(), &wrapped).unwrap();
        assert_eq!(back.key().as_bytes(), dek.key().as_bytes());
    }

    #[test]
    fn wrapped_key_is_bound_to_its_id() {
        let wrapped = Dek::generate(3, DekState::Active).unwrap().wrap(&kek()).unwrap();
        let moved = WrappedDek { id: 4, ..wrapped };
        assert!(matches!(Dek::unwrap(&kek(), &moved), Err(KeyringError::WrongKek { id: 4 })));
    }

    #[test]
    fn malformed_wrapped_keys_are_refused() {
        let wrapped = Dek::generate(1, DekState::Active).unwrap().wrap(&kek()).unwrap();
        let mut bad_version = wrapped.clone();
        bad_version.wrapped[0] = 2;
        let short = WrappedDek { wrapped: wrapped.wrapped[..10].to_vec(), ..wrapped.clone() };
        for bad in [bad_version, short] {
            assert!(matches!(Dek::unwrap(&kek(), &bad), Err(KeyringError::MalformedWrappedDek { id: 1, .. })));
        }
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let dek = Dek::generate(1, DekState::Active).unwrap();
        let wrapped = dek.wrap(&kek()).unwrap();
        let shown = format!("{dek:?} {dek:#?} {wrapped:?}");
        assert!(!shown.contains(&hex::encode(dek.key().as_bytes())));
        assert!(!shown.contains(&hex::encode(&dek.key().as_bytes()[..4])));
        assert!(!shown.contains(&hex::encode(&wrapped.wrapped)));
        assert!(!shown.contains(&format!("{:?}", &dek.key().as_bytes()[..4])));
    }

    #[test]
    fn state_spelling_round_trips() {
        for state in [DekState::Active, DekState::DecryptOnly, DekState::Retired] {
            assert_eq!(state.as_str().parse::<DekState>(), Ok(state));
        }
        assert!("Active".parse::<DekState>().is_err());
    }
}
