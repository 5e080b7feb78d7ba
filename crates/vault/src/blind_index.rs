//! Blind index: a keyed hash of an email, so sealed emails can still be looked up and kept
//! unique without the database ever holding them in clear.
//!
//! The index key is separate from the KEK (its own file, same rules) so that neither key alone
//! does the other's job, and losing one does not expose what the other protects.
//!
//! Lookups compare index values by equality in SQL. That comparison need not be constant time:
//! the values are already stored in the database and reveal nothing about the key, so timing
//! can tell an attacker no more than reading the table would.

use std::fmt;
use std::path::Path;

use hmac::digest::KeyInit;
use hmac::digest::generic_array::GenericArray;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::fingerprint::KeyFingerprint;
use crate::key_file::{self, KeyFileError};
use crate::secret_key::{KEY_LEN, SecretKey};

const FINGERPRINT_PURPOSE: &str = "blind-index";
/// Separates email indexes from any other field indexed under the same key later, so equal
/// inputs in two fields never give equal index values.
const EMAIL_DOMAIN: &[u8] = b"palisade/v1/blind-index/email\0";
const SHA256_BLOCK_LEN: usize = 64;

/// Length in bytes of a [`BlindIndex`].
pub const BLIND_INDEX_LEN: usize = 32;

/// The 256-bit HMAC-SHA256 key for blind indexes.
pub struct BlindIndexKey {
    key: SecretKey,
}

impl BlindIndexKey {
    /// Same rules as [`crate::Kek::load`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        Ok(Self { key: key_file::load(path.as_ref())? })
    }

    /// Same rules as [`crate::Kek::create`]: 0600, never overwrites.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        Ok(Self { key: key_file::create(path.as_ref())? })
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self { key: SecretKey::from_bytes(&bytes) }
    }

    pub fn fingerprint(&self) -> KeyFingerprint {
        self.key.fingerprint(FINGERPRINT_PURPOSE)
    }

    /// The index of `email` after [`normalize_email`]: equal for addresses that differ only in
    /// case or surrounding space, different under another key.
    /// The index of `email` within `site`. The site is part of the input so that one address
    /// registered on two sites gives two unrelated values: the index does not link tenants.
    pub fn email(&self, site: &str, email: &str) -> BlindIndex {
        let mut mac = self.mac();
        mac.update(EMAIL_DOMAIN);
        // Length-prefixed, so no (site, email) pair can collide with another by shifting bytes.
        mac.update(&u32::try_from(site.len()).unwrap_or(u32::MAX).to_be_bytes());
        mac.update(site.as_bytes());
        mac.update(normalize_email(email).as_bytes());
        let mut out = [0u8; BLIND_INDEX_LEN];
        out.copy_from_slice(&mac.finalize().into_bytes());
        BlindIndex(out)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC zero-pads a key shorter than the hash block, so padding it here gives the same
        // MAC as `new_from_slice` through a constructor that cannot fail.
        let mut block = Zeroizing::new([0u8; SHA256_BLOCK_LEN]);
        block[..KEY_LEN].copy_from_slice(self.key.as_bytes());
        <Hmac<Sha256> as KeyInit>::new(GenericArray::from_slice(&block[..]))
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndexKey").field("fingerprint", &self.fingerprint()).finish_non_exhaustive()
    }
}

/// Trims surrounding whitespace and lower-cases (Unicode-aware). Nothing more: dots and `+tags`
/// are significant to some mail providers, so folding them would merge distinct accounts.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A fixed-length lookup value; store it in a unique column next to the sealed email.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlindIndex([u8; BLIND_INDEX_LEN]);

impl BlindIndex {
    pub fn as_bytes(&self) -> &[u8; BLIND_INDEX_LEN] {
        &self.0
    }

    /// Lower-case hex, 64 characters, for a text column.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> BlindIndexKey {
        BlindIndexKey::from_bytes([byte; KEY_LEN])
    }

    #[test]
    fn deterministic_per_key_and_different_between_keys() {
        assert_eq!(key(1).email("s", "a@example.com"), key(1).email("s", "a@example.com"));
        assert_ne!(key(1).email("s", "a@example.com"), key(2).email("s", "a@example.com"));
        assert_ne!(key(1).email("s", "a@example.com"), key(1).email("s", "b@example.com"));
        assert_eq!(key(1).email("s", "a@example.com").to_hex().len(), 2 * BLIND_INDEX_LEN);
    }

    #[test]
    fn one_address_on_two_sites_is_not_linkable() {
        assert_ne!(key(1).email("site-a", "a@example.com"), key(1).email("site-b", "a@example.com"));
        assert_ne!(key(1).email("ab", "c@d"), key(1).email("a", "bc@d"));
    }

    #[test]
    fn normalizes_case_and_surrounding_space() {
        let expected = key(1).email("s", "alice@example.com");
        for variant in ["Alice@Example.COM", "  alice@example.com\n", "\tALICE@EXAMPLE.COM  "] {
            assert_eq!(key(1).email("s", variant), expected, "{variant:?}");
        }
        assert_ne!(key(1).email("s", "alice+x@example.com"), expected);
        assert_ne!(key(1).email("s", "a lice@example.com"), expected);
    }

    #[test]
    fn padded_key_matches_hmac_over_the_raw_key() {
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&[3u8; KEY_LEN]).unwrap();
        reference.update(EMAIL_DOMAIN);
        reference.update(&1u32.to_be_bytes());
        reference.update(b"s");
        reference.update(b"x@y.z");
        assert_eq!(key(3).email("s", "X@Y.Z").as_bytes()[..], reference.finalize().into_bytes()[..]);
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let k = key(0x6b);
        let shown = format!("{k:?} {k:#?}");
        assert!(!shown.contains(&hex::encode([0x6b; 4])));
        assert!(shown.contains(&k.fingerprint().to_hex()));
        assert_ne!(k.fingerprint(), crate::Kek::from_bytes([0x6b; KEY_LEN]).fingerprint());
    }

    #[test]
    fn key_file_rules_apply() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.key");
        let created = BlindIndexKey::create(&path).unwrap();
        assert!(matches!(BlindIndexKey::create(&path), Err(KeyFileError::AlreadyExists { .. })));
        assert_eq!(BlindIndexKey::load(&path).unwrap().email("s", "a@b.c"), created.email("s", "a@b.c"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(BlindIndexKey::load(&path), Err(KeyFileError::TooPermissive { .. })));
    }
}
