//! The set of data keys a running server holds, and the operations that change it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use zeroize::Zeroizing;

use crate::aad::Aad;
use crate::dek::{Dek, DekState, WrappedDek};
use crate::fingerprint::KeyFingerprint;
use crate::kek::Kek;
use crate::sealed::{self, OpenError, SealError};

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "data key {id} does not unwrap under this key-encryption key: the KEK is wrong, or the stored key was \
         altered; refusing to use it"
    )]
    WrongKek { id: u32 },

    #[error("stored data key {id} is malformed ({len} bytes or an unknown wrap version)")]
    MalformedWrappedDek { id: u32, len: usize },

    #[error("no active data key among the stored keys; exactly one must be active")]
    NoActiveDek,

    #[error("data keys {ids:?} are all marked active; exactly one must be")]
    MultipleActiveDeks { ids: Vec<u32> },

    #[error("data key id {id} appears more than once")]
    DuplicateId { id: u32 },

    #[error("new data key id {next} must be greater than every existing id (highest is {highest})")]
    IdNotIncreasing { next: u32, highest: u32 },

    #[error("no data key with id {id}")]
    UnknownKey { id: u32 },

    #[error("data key {id} is active and cannot be retired; rotate first")]
    CannotRetireActive { id: u32 },

    #[error("the keyring changed since this rotation was prepared; prepare it again")]
    StaleRotation,

    #[error(transparent)]
    Seal(#[from] SealError),
}

/// The KEK and every data key, unwrapped, with exactly one active key for sealing.
///
/// Retired keys are remembered by id only: their bytes are dropped (and wiped) so that values
/// naming them are refused with [`OpenError::RetiredKey`] rather than opened.
pub struct Keyring {
    kek: Kek,
    // Held apart from the others so "exactly one active key" is a fact of the type, not a
    // lookup that could miss.
    active: Dek,
    decrypt_only: BTreeMap<u32, Dek>,
    retired: BTreeSet<u32>,
}

/// A rotation whose new key exists but is not yet in use.
///
/// Persist [`PendingRotation::wrapped`] (state active) and mark [`PendingRotation::demoted_id`]
/// decrypt-only in one transaction, then [`Keyring::commit_rotation`]. Committing only after the
/// write guarantees nothing is ever sealed under a key the database does not hold.
pub struct PendingRotation {
    dek: Dek,
    wrapped: WrappedDek,
    demoted: u32,
}

impl PendingRotation {
    pub fn wrapped(&self) -> &WrappedDek {
        &self.wrapped
    }

    /// The currently active key, which becomes decrypt-only on commit.
    pub fn demoted_id(&self) -> u32 {
        self.demoted
    }
}

impl fmt::Debug for PendingRotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingRotation").field("new", &self.dek).field("demoted", &self.demoted).finish()
    }
}

impl Keyring {
    /// First run only: generates data key `first_id` as the active key. Returns the wrapped key
    /// for storage to persist before anything is sealed.
    pub fn initialize(kek: Kek, first_id: u32) -> Result<(Self, WrappedDek), KeyringError> {
        let active = Dek::generate(first_id, DekState::Active)?;
        let wrapped = active.wrap(&kek)?;
        Ok((Self { kek, active, decrypt_only: BTreeMap::new(), retired: BTreeSet::new() }, wrapped))
    }

    /// Unwraps every stored key, retired ones included, so a wrong KEK or an altered row is
    /// caught at start-up rather than when some old value is first read.
    pub fn unwrap_all(kek: Kek, stored: &[WrappedDek]) -> Result<Self, KeyringError> {
        let mut active = Vec::new();
        let mut decrypt_only = BTreeMap::new();
        let mut retired = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for wrapped in stored {
            if !seen.insert(wrapped.id) {
                return Err(KeyringError::DuplicateId { id: wrapped.id });
            }
            let dek = Dek::unwrap(&kek, wrapped)?;
            match wrapped.state {
                DekState::Active => active.push(dek),
                DekState::DecryptOnly => {
                    decrypt_only.insert(wrapped.id, dek);
                }
                DekState::Retired => {
                    retired.insert(wrapped.id);
                }
            }
        }
        if active.len() > 1 {
            return Err(KeyringError::MultipleActiveDeks { ids: active.iter().map(Dek::id).collect() });
        }
        let active = active.pop().ok_or(KeyringError::NoActiveDek)?;
        Ok(Self { kek, active, decrypt_only, retired })
    }

    /// KEK rotation: unwraps every stored key under `old_kek` and wraps it under `new_kek`,
    /// keeping ids and states. Storage replaces all wrapped keys in one transaction; after
    /// that only `new_kek` opens them. A running keyring still holds the old KEK, so the server
    /// must be restarted (or reloaded) with the new one before its next rotation.
    pub fn rewrap(old_kek: &Kek, new_kek: &Kek, stored: &[WrappedDek]) -> Result<Vec<WrappedDek>, KeyringError> {
        let mut seen = BTreeSet::new();
        stored
            .iter()
            .map(|wrapped| {
                if !seen.insert(wrapped.id) {
                    return Err(KeyringError::DuplicateId { id: wrapped.id });
                }
                Ok(Dek::unwrap(old_kek, wrapped)?.wrap(new_kek)?)
            })
            .collect()
    }

    /// Makes a new active key `next_id` and demotes the old one to decrypt-only, returning the
    /// new wrapped key. Prefer [`Keyring::prepare_rotation`] when the write can fail: this
    /// switches immediately, so values sealed before the key is persisted would be lost.
    pub fn rotate(&mut self, next_id: u32) -> Result<WrappedDek, KeyringError> {
        let pending = self.prepare_rotation(next_id)?;
        let wrapped = pending.wrapped.clone();
        self.commit_rotation(pending)?;
        Ok(wrapped)
    }

    /// Creates the next key without using it yet; see [`PendingRotation`].
    pub fn prepare_rotation(&self, next_id: u32) -> Result<PendingRotation, KeyringError> {
        self.check_new_id(next_id)?;
        let dek = Dek::generate(next_id, DekState::Active)?;
        let wrapped = dek.wrap(&self.kek)?;
        Ok(PendingRotation { dek, wrapped, demoted: self.active.id() })
    }

    pub fn commit_rotation(&mut self, pending: PendingRotation) -> Result<(), KeyringError> {
        if pending.demoted != self.active.id() || self.check_new_id(pending.dek.id()).is_err() {
            return Err(KeyringError::StaleRotation);
        }
        let mut old = std::mem::replace(&mut self.active, pending.dek);
        old.set_state(DekState::DecryptOnly);
        self.decrypt_only.insert(old.id(), old);
        Ok(())
    }

    /// Retires a decrypt-only key and wipes it from memory. Checking that no stored value still
    /// names it is storage's job (see [`crate::dek_id_of`]); afterwards such values are refused.
    /// Retiring an already retired key is not an error.
    pub fn retire(&mut self, id: u32) -> Result<(), KeyringError> {
        if id == self.active.id() {
            return Err(KeyringError::CannotRetireActive { id });
        }
        if self.retired.contains(&id) {
            return Ok(());
        }
        if self.decrypt_only.remove(&id).is_none() {
            return Err(KeyringError::UnknownKey { id });
        }
        self.retired.insert(id);
        Ok(())
    }

    pub fn active_id(&self) -> u32 {
        self.active.id()
    }

    /// Every key's id and state, in id order, for `keys status`.
    pub fn key_states(&self) -> Vec<(u32, DekState)> {
        let mut states = vec![(self.active.id(), DekState::Active)];
        states.extend(self.decrypt_only.keys().map(|&id| (id, DekState::DecryptOnly)));
        states.extend(self.retired.iter().map(|&id| (id, DekState::Retired)));
        states.sort_unstable_by_key(|&(id, _)| id);
        states
    }

    pub fn kek_fingerprint(&self) -> KeyFingerprint {
        self.kek.fingerprint()
    }

    /// Seals `plaintext` under the active key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &Aad) -> Result<Vec<u8>, SealError> {
        sealed::seal(self.active.key(), self.active.id(), plaintext, aad)
    }

    /// Opens a value sealed by [`Keyring::seal`] under any active or decrypt-only key. The
    /// plaintext is wiped from memory when the returned buffer is dropped.
    pub fn open(&self, sealed_value: &[u8], aad: &Aad) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let parsed = sealed::parse(sealed_value)?;
        let id = parsed.dek_id;
        let dek = if id == self.active.id() {
            &self.active
        } else if let Some(dek) = self.decrypt_only.get(&id) {
            dek
        } else if self.retired.contains(&id) {
            return Err(OpenError::RetiredKey { id });
        } else {
            return Err(OpenError::UnknownKey { id });
        };
        sealed::open(dek.key(), &parsed, aad)
    }

    fn check_new_id(&self, next: u32) -> Result<(), KeyringError> {
        let highest = self.highest_id();
        if next > highest { Ok(()) } else { Err(KeyringError::IdNotIncreasing { next, highest }) }
    }

    fn highest_id(&self) -> u32 {
        let decrypt_only = self.decrypt_only.keys().next_back().copied().unwrap_or(0);
        let retired = self.retired.iter().next_back().copied().unwrap_or(0);
        self.active.id().max(decrypt_only).max(retired)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("kek", &self.kek)
            .field("active", &self.active)
            .field("keys", &self.key_states())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret_key::KEY_LEN;

    fn kek(byte: u8) -> Kek {
        Kek::from_bytes([byte; KEY_LEN])
    }

    fn aad() -> Aad {
        Aad::new("messages", "body", "row-1").with_context("room", "room-1")
    }

    /// A keyring plus everything storage would hold for it.
    fn stored_keyring() -> (Keyring, Vec<WrappedDek>) {
        let (keyring, first) = Keyring::initialize(kek(1), 1).unwrap();
        (keyring, vec![first])
    }

    #[test]
    fn reloaded_keyring_opens_what_the_original_sealed() {
        let (keyring, stored) = stored_keyring();
        let sealed = keyring.seal(b"canary", &aad()).unwrap();
        let reloaded = Keyring::unwrap_all(kek(1), &stored).unwrap();
        assert_eq!(&reloaded.open(&sealed, &aad()).unwrap()[..], b"canary");
        assert_eq!(reloaded.kek_fingerprint(), kek(1).fingerprint());
    }

    #[test]
    fn wrong_kek_is_refused_at_unwrap() {
        let (_, stored) = stored_keyring();
        let err = Keyring::unwrap_all(kek(2), &stored).unwrap_err();
        assert!(matches!(err, KeyringError::WrongKek { id: 1 }));
        assert!(err.to_string().contains("key-encryption key"));
    }

    #[test]
    fn swapping_wrapped_keys_between_ids_is_refused() {
        let (mut keyring, mut stored) = stored_keyring();
        stored.push(keyring.rotate(2).unwrap());
        stored[0].state = DekState::DecryptOnly;
        assert!(Keyring::unwrap_all(kek(1), &stored).is_ok());
        let (a, b) = (stored[0].wrapped.clone(), stored[1].wrapped.clone());
        stored[0].wrapped = b;
        stored[1].wrapped = a;
        assert!(matches!(Keyring::unwrap_all(kek(1), &stored), Err(KeyringError::WrongKek { .. })));
    }

    #[test]
    fn exactly_one_active_key_is_required() {
        let (mut keyring, mut stored) = stored_keyring();
        stored.push(keyring.rotate(2).unwrap());
        // Both still marked active: a rotation persisted halfway.
        assert!(matches!(
            Keyring::unwrap_all(kek(1), &stored),
            Err(KeyringError::MultipleActiveDeks { ids }) if ids == vec![1, 2]
        ));
        for wrapped in &mut stored {
            wrapped.state = DekState::DecryptOnly;
        }
        assert!(matches!(Keyring::unwrap_all(kek(1), &stored), Err(KeyringError::NoActiveDek)));
        assert!(matches!(Keyring::unwrap_all(kek(1), &[]), Err(KeyringError::NoActiveDek)));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let (_, stored) = stored_keyring();
        let twice = [stored.clone(), stored].concat();
        assert!(matches!(Keyring::unwrap_all(kek(1), &twice), Err(KeyringError::DuplicateId { id: 1 })));
        assert!(matches!(Keyring::rewrap(&kek(1), &kek(2), &twice), Err(KeyringError::DuplicateId { id: 1 })));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_seals_with_the_new_key() {
        let (mut keyring, _) = stored_keyring();
        let old = keyring.seal(b"before", &aad()).unwrap();
        let wrapped = keyring.rotate(5).unwrap();
        assert_eq!((wrapped.id, wrapped.state), (5, DekState::Active));
        assert_eq!(keyring.active_id(), 5);
        let new = keyring.seal(b"after", &aad()).unwrap();
        assert_eq!(sealed::dek_id_of(&old), Ok(1));
        assert_eq!(sealed::dek_id_of(&new), Ok(5));
        assert_eq!(&keyring.open(&old, &aad()).unwrap()[..], b"before");
        assert_eq!(&keyring.open(&new, &aad()).unwrap()[..], b"after");
        assert_eq!(keyring.key_states(), vec![(1, DekState::DecryptOnly), (5, DekState::Active)]);
    }

    #[test]
    fn rotation_ids_must_increase() {
        let (mut keyring, _) = stored_keyring();
        keyring.rotate(3).unwrap();
        keyring.retire(1).unwrap();
        for next in [0, 1, 3] {
            assert!(matches!(keyring.rotate(next), Err(KeyringError::IdNotIncreasing { highest: 3, .. })));
        }
        assert_eq!(keyring.active_id(), 3);
    }

    #[test]
    fn prepared_rotation_changes_nothing_until_committed() {
        let (mut keyring, _) = stored_keyring();
        let pending = keyring.prepare_rotation(2).unwrap();
        assert_eq!((pending.wrapped().id, pending.demoted_id()), (2, 1));
        assert_eq!(sealed::dek_id_of(&keyring.seal(b"x", &aad()).unwrap()), Ok(1));
        keyring.commit_rotation(pending).unwrap();
        assert_eq!(sealed::dek_id_of(&keyring.seal(b"x", &aad()).unwrap()), Ok(2));
    }

    #[test]
    fn stale_rotation_is_refused() {
        let (mut keyring, _) = stored_keyring();
        let first = keyring.prepare_rotation(2).unwrap();
        let second = keyring.prepare_rotation(3).unwrap();
        keyring.commit_rotation(second).unwrap();
        assert!(matches!(keyring.commit_rotation(first), Err(KeyringError::StaleRotation)));
        assert_eq!(keyring.active_id(), 3);
    }

    #[test]
    fn retired_keys_refuse_to_open() {
        let (mut keyring, mut stored) = stored_keyring();
        let old = keyring.seal(b"old", &aad()).unwrap();
        stored.push(keyring.rotate(2).unwrap());
        assert!(matches!(keyring.retire(2), Err(KeyringError::CannotRetireActive { id: 2 })));
        assert!(matches!(keyring.retire(9), Err(KeyringError::UnknownKey { id: 9 })));
        keyring.retire(1).unwrap();
        keyring.retire(1).unwrap();
        assert_eq!(keyring.open(&old, &aad()), Err(OpenError::RetiredKey { id: 1 }));

        // The same holds for a keyring loaded with the key stored as retired.
        stored[0].state = DekState::Retired;
        let reloaded = Keyring::unwrap_all(kek(1), &stored).unwrap();
        assert_eq!(reloaded.open(&old, &aad()), Err(OpenError::RetiredKey { id: 1 }));
        assert_eq!(reloaded.key_states(), vec![(1, DekState::Retired), (2, DekState::Active)]);
    }

    #[test]
    fn unknown_key_id_is_reported() {
        let (keyring, _) = stored_keyring();
        let mut sealed = keyring.seal(b"x", &aad()).unwrap();
        sealed[1..5].copy_from_slice(&77u32.to_be_bytes());
        assert_eq!(keyring.open(&sealed, &aad()), Err(OpenError::UnknownKey { id: 77 }));
    }

    /// Replays the crash input `crash-f52012d7` of the `vault_open` fuzz target: a value sealed
    /// under key 3 by another keyring of the fuzzing process, offered to a keyring that also has
    /// a key 3. Only the tag stands between them, and it must hold.
    #[test]
    fn a_value_sealed_by_another_keyring_with_the_same_key_ids_does_not_open() {
        const SEALED_ELSEWHERE: &str = "01000000033f5220bc355e427755b4a999e7f97b36b85c635e929142c001b5f5e7d9d172f3b43126\
                                        44eeaa460e948a1285dc98f20e5d1cb59f86";
        let keyring_with_ids_1_to_3 = || {
            let (mut keyring, _) = Keyring::initialize(kek(1), 1).unwrap();
            keyring.rotate(2).unwrap();
            keyring.rotate(3).unwrap();
            keyring.retire(1).unwrap();
            keyring
        };
        let keyring = keyring_with_ids_1_to_3();
        let sealed_elsewhere = hex::decode(SEALED_ELSEWHERE).unwrap();
        assert_eq!(sealed::dek_id_of(&sealed_elsewhere), Ok(3));
        assert_eq!(keyring.open(&sealed_elsewhere, &aad()), Err(OpenError::Authentication));

        let other = keyring_with_ids_1_to_3();
        let sealed = other.seal(b"canary", &aad()).unwrap();
        assert_eq!(&other.open(&sealed, &aad()).unwrap()[..], b"canary");
        assert_eq!(keyring.open(&sealed, &aad()), Err(OpenError::Authentication));
    }

    #[test]
    fn rewrap_moves_every_key_to_the_new_kek() {
        let (mut keyring, mut stored) = stored_keyring();
        let old_value = keyring.seal(b"old", &aad()).unwrap();
        stored[0].state = DekState::DecryptOnly;
        stored.push(keyring.rotate(2).unwrap());
        let new_value = keyring.seal(b"new", &aad()).unwrap();

        let rewrapped = Keyring::rewrap(&kek(1), &kek(2), &stored).unwrap();
        assert_eq!(
            rewrapped.iter().map(|w| (w.id, w.state)).collect::<Vec<_>>(),
            vec![(1, DekState::DecryptOnly), (2, DekState::Active)]
        );
        assert!(matches!(Keyring::unwrap_all(kek(1), &rewrapped), Err(KeyringError::WrongKek { .. })));
        let reloaded = Keyring::unwrap_all(kek(2), &rewrapped).unwrap();
        assert_eq!(&reloaded.open(&old_value, &aad()).unwrap()[..], b"old");
        assert_eq!(&reloaded.open(&new_value, &aad()).unwrap()[..], b"new");
        assert!(matches!(Keyring::rewrap(&kek(3), &kek(2), &stored), Err(KeyringError::WrongKek { .. })));
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let (mut keyring, _) = stored_keyring();
        let pending = keyring.prepare_rotation(2).unwrap();
        let mut secrets = vec![hex::encode([1u8; KEY_LEN]), hex::encode(keyring.active.key().as_bytes())];
        secrets.push(hex::encode(pending.dek.key().as_bytes()));
        let pending_shown = format!("{pending:?}");
        keyring.commit_rotation(pending).unwrap();
        let shown = format!("{keyring:?} {keyring:#?} {pending_shown}");
        for secret in &secrets {
            assert!(!shown.contains(secret.as_str()), "{shown}");
            assert!(!shown.contains(&secret[..8]), "{shown}");
        }
        assert!(shown.contains(&kek(1).fingerprint().to_hex()));
    }
}
