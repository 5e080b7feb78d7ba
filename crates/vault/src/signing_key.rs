//! The key access tokens are signed with. It follows the same file rules as the KEK; it is
//! here so that every long-lived secret the server holds is loaded, created and wiped by this
//! crate alone.

use std::fmt;
use std::path::Path;

use crate::fingerprint::KeyFingerprint;
use crate::key_file::{self, KeyFileError};
use crate::secret_key::{KEY_LEN, SecretKey};

const FINGERPRINT_PURPOSE: &str = "access-token-signing";

/// A 256-bit HMAC key for access tokens.
pub struct SigningKey {
    key: SecretKey,
}

impl SigningKey {
    /// Reads the key, refusing a file that group or others can access.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        Ok(Self { key: key_file::load(path.as_ref())? })
    }

    /// Reads the key, or creates it (0600, never over an existing file) when none exists yet.
    /// Unlike the KEK, losing this key loses nothing stored: tokens signed with it simply stop
    /// verifying, and people sign in again.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        match key_file::load(path.as_ref()) {
            Err(KeyFileError::Missing { .. }) => match key_file::create(path.as_ref()) {
                // Another process created it between our two calls; read theirs.
                Err(KeyFileError::AlreadyExists { .. }) => Self::load(path),
                created => Ok(Self { key: created? }),
            },
            loaded => Ok(Self { key: loaded? }),
        }
    }

    /// The key bytes, for handing to the token library; never log or store them.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        self.key.as_bytes()
    }

    /// Safe to log; see [`KeyFingerprint`].
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.key.fingerprint(FINGERPRINT_PURPOSE)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("fingerprint", &self.fingerprint()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_owner_only_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("signing.key");
        let first = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(first.expose_bytes(), again.expose_bytes());
        assert!(!format!("{first:?}").contains(&hex::encode(first.expose_bytes())));
    }

    #[test]
    fn an_open_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        SigningKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(SigningKey::load_or_create(&path), Err(KeyFileError::TooPermissive { .. })));
    }
}
