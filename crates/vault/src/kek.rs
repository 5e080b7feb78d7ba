//! The key-encryption key: the one secret that lives outside the database and unlocks the rest.

use std::fmt;
use std::path::Path;

use crate::fingerprint::KeyFingerprint;
use crate::key_file::{self, KeyFileError};
use crate::secret_key::{KEY_LEN, SecretKey};

const FINGERPRINT_PURPOSE: &str = "kek";

/// A 256-bit key-encryption key. It only ever wraps data keys; values are never sealed under it
/// directly, so rotating it means rewrapping a few keys rather than re-encrypting every row.
pub struct Kek {
    key: SecretKey,
}

impl Kek {
    /// Reads the KEK from a hex key file, refusing one that group or others can access.
    ///
    /// A missing file is [`KeyFileError::Missing`]; whether that means "first run, create one"
    /// or "refuse to start" is the caller's decision and depends on whether data already exists.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        Ok(Self { key: key_file::load(path.as_ref())? })
    }

    /// Generates a KEK and writes it to a new 0600 file (creating missing parent directories
    /// 0700). Fails with [`KeyFileError::AlreadyExists`] rather than replace an existing file.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        Ok(Self { key: key_file::create(path.as_ref())? })
    }

    /// For tests and tools that already hold the key. The caller's array is not wiped.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self { key: SecretKey::from_bytes(&bytes) }
    }

    /// Safe to log; see [`KeyFingerprint`].
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.key.fingerprint(FINGERPRINT_PURPOSE)
    }

    pub(crate) fn key(&self) -> &SecretKey {
        &self.key
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek").field("fingerprint", &self.fingerprint()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_fingerprint_not_key() {
        let bytes = [0x5a; KEY_LEN];
        let kek = Kek::from_bytes(bytes);
        let shown = format!("{kek:?} {kek:#?}");
        assert!(!shown.contains(&hex::encode(bytes)));
        assert!(!shown.contains(&hex::encode(&bytes[..4])));
        assert!(shown.contains(&kek.fingerprint().to_hex()));
    }

    #[test]
    fn fingerprint_identifies_the_key() {
        let a = Kek::from_bytes([1; KEY_LEN]);
        assert_eq!(a.fingerprint(), Kek::from_bytes([1; KEY_LEN]).fingerprint());
        assert_ne!(a.fingerprint(), Kek::from_bytes([2; KEY_LEN]).fingerprint());
    }

    #[test]
    fn load_and_create_share_the_key_file_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let created = Kek::create(&path).unwrap();
        assert_eq!(Kek::load(&path).unwrap().fingerprint(), created.fingerprint());
        assert!(matches!(Kek::create(&path), Err(KeyFileError::AlreadyExists { .. })));
    }
}
