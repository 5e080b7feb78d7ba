//! 256-bit secret key bytes in memory.
//!
//! Every key this crate holds (KEK, data keys, blind-index key) lives in a [`SecretKey`]. The bytes
//! are boxed so that moving the owner around moves a pointer, not the key, which would otherwise
//! leave copies on the stack that nothing wipes; they are zeroized on drop and never printed.

use std::fmt;

use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::fingerprint::KeyFingerprint;

/// Length in bytes of every key in the vault.
pub const KEY_LEN: usize = 32;

pub(crate) struct SecretKey(Box<Zeroizing<[u8; KEY_LEN]>>);

impl SecretKey {
    pub(crate) fn zeroed() -> Self {
        Self(Box::new(Zeroizing::new([0u8; KEY_LEN])))
    }

    pub(crate) fn generate() -> Result<Self, rand::Error> {
        let mut key = Self::zeroed();
        OsRng.try_fill_bytes(key.as_mut_bytes())?;
        Ok(key)
    }

    /// Takes a copy of `bytes`; the caller's array is the caller's to wipe.
    pub(crate) fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let mut key = Self::zeroed();
        key.as_mut_bytes().copy_from_slice(bytes);
        key
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    pub(crate) fn as_mut_bytes(&mut self) -> &mut [u8; KEY_LEN] {
        &mut self.0
    }

    pub(crate) fn fingerprint(&self, purpose: &'static str) -> KeyFingerprint {
        KeyFingerprint::of(purpose, self.as_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ_and_are_not_zero() {
        let a = SecretKey::generate().unwrap();
        let b = SecretKey::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_ne!(a.as_bytes(), &[0u8; KEY_LEN]);
    }

    #[test]
    fn debug_is_redacted() {
        let key = SecretKey::from_bytes(&[0xab; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex::encode(key.as_bytes())));
        assert!(!shown.to_lowercase().contains("abab"));
    }
}
