//! Short, non-secret identifiers for keys, for logs and for telling two key files apart.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::secret_key::KEY_LEN;

const FINGERPRINT_LEN: usize = 8;

/// The first 64 bits of a domain-separated SHA-256 of a key.
///
/// Safe to log: recovering anything about a uniformly random 256-bit key from it would need a
/// SHA-256 preimage. The purpose label makes the same bytes used as a KEK and as an index key
/// show different fingerprints, so a fingerprint never confirms that two roles share a key.
/// 64 bits is plenty to tell a handful of keys apart; it is not meant to resist deliberate
/// collisions.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint([u8; FINGERPRINT_LEN]);

impl KeyFingerprint {
    pub(crate) fn of(purpose: &'static str, key: &[u8; KEY_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"palisade/v1/key-fingerprint/")
            .chain_update(purpose.as_bytes())
            .chain_update(b"/")
            .chain_update(key)
            .finalize();
        let mut out = [0u8; FINGERPRINT_LEN];
        for (dst, src) in out.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
        Self(out)
    }

    /// Lower-case hex, 16 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_key_and_purpose_and_does_not_contain_the_key() {
        let key = [7u8; KEY_LEN];
        let a = KeyFingerprint::of("kek", &key);
        assert_eq!(a, KeyFingerprint::of("kek", &key));
        assert_ne!(a, KeyFingerprint::of("blind-index", &key));
        assert_ne!(a, KeyFingerprint::of("kek", &[8u8; KEY_LEN]));
        assert_eq!(a.to_string().len(), 16);
        assert!(!hex::encode(key).contains(&a.to_hex()));
    }
}
