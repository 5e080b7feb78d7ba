//! The one AEAD the vault uses, XChaCha20-Poly1305, behind two functions.
//!
//! The 192-bit nonce is what lets every seal draw a fresh random nonce with no counter to keep:
//! the chance of two seals under one key ever repeating a nonce stays negligible far beyond
//! any volume this server will see, which a 96-bit nonce could not promise.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Key, KeyInit, Tag, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::secret_key::SecretKey;

pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

pub(crate) type Nonce = [u8; NONCE_LEN];

/// The AEAD refused the input as too long for one message (beyond 256 GiB).
#[derive(Debug)]
pub(crate) struct TooLong;

/// Wrong key, wrong associated data, or altered bytes; the AEAD cannot tell which, and neither
/// do we.
#[derive(Debug)]
pub(crate) struct AuthenticationFailed;

pub(crate) fn random_nonce() -> Result<Nonce, rand::Error> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.try_fill_bytes(&mut nonce)?;
    Ok(nonce)
}

/// Appends `plaintext` encrypted, then its tag, to `out`. The plaintext is copied into `out` and
/// encrypted there, so no second clear copy is left in memory.
pub(crate) fn seal_into(
    key: &SecretKey,
    nonce: &Nonce,
    associated: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), TooLong> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.as_bytes()));
    let start = out.len();
    out.reserve(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let Some(body) = out.get_mut(start..) else {
        return Err(TooLong);
    };
    match cipher.encrypt_in_place_detached(XNonce::from_slice(nonce), associated, body) {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(TooLong)
        }
    }
}

/// Opens `ciphertext_and_tag` into a buffer that is wiped when dropped.
pub(crate) fn open(
    key: &SecretKey,
    nonce: &Nonce,
    associated: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AuthenticationFailed> {
    let Some(split) = ciphertext_and_tag.len().checked_sub(TAG_LEN) else {
        return Err(AuthenticationFailed);
    };
    let (ciphertext, tag) = ciphertext_and_tag.split_at(split);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.as_bytes()));
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_in_place_detached(XNonce::from_slice(nonce), associated, &mut buffer, Tag::from_slice(tag))
        .map_err(|_| AuthenticationFailed)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = SecretKey::generate().unwrap();
        let nonce = random_nonce().unwrap();
        let mut out = b"header".to_vec();
        seal_into(&key, &nonce, b"ad", b"hello", &mut out).unwrap();
        assert_eq!(out.len(), 6 + 5 + TAG_LEN);
        assert_eq!(&out[..6], b"header");
        assert_ne!(&out[6..11], b"hello");
        assert_eq!(&open(&key, &nonce, b"ad", &out[6..]).unwrap()[..], b"hello");
        assert!(open(&key, &nonce, b"ae", &out[6..]).is_err());
        assert!(open(&key, &nonce, b"ad", &out[6..TAG_LEN - 1]).is_err());
    }
}
