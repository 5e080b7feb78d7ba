//! The stored form of a sealed value.
//!
//! ```text
//! [version u8 = 1][data key id u32 big-endian][nonce 24 bytes][ciphertext][tag 16 bytes]
//! ```
//!
//! The header is also fed to the AEAD as associated data, ahead of the [`Aad`], so changing the
//! version byte or key id can only ever produce an error, never a different reading.

use zeroize::Zeroizing;

use crate::aad::Aad;
use crate::aead::{self, NONCE_LEN, Nonce, TAG_LEN};
use crate::secret_key::SecretKey;

/// The only format this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// The length of a sealed empty value; nothing shorter can be valid.
pub const MIN_SEALED_LEN: usize = HEADER_LEN + TAG_LEN;

/// Why a value could not be sealed. Neither happens in practice; both are reported rather than
/// allowed to panic a server.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("value is too large to seal")]
    TooLarge,
    #[error("the operating system's random number generator failed")]
    Randomness(#[source] rand::Error),
}

/// Why a sealed value did not open.
///
/// [`OpenError::Authentication`] deliberately covers every cryptographic failure (wrong row,
/// wrong room, altered bytes, a key that does not match): telling them apart would help an
/// attacker probe and helps no operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed value is truncated ({len} bytes; a valid one has at least {MIN_SEALED_LEN})")]
    Truncated { len: usize },
    #[error("sealed value has unknown format version {version}")]
    UnknownVersion { version: u8 },
    #[error("sealed value names data key {id}, which this keyring does not hold")]
    UnknownKey { id: u32 },
    #[error("sealed value uses data key {id}, which is retired")]
    RetiredKey { id: u32 },
    #[error("sealed value failed authentication")]
    Authentication,
}

pub(crate) struct Parsed<'a> {
    pub(crate) dek_id: u32,
    header: &'a [u8],
    nonce: Nonce,
    body: &'a [u8],
}

pub(crate) fn parse(sealed: &[u8]) -> Result<Parsed<'_>, OpenError> {
    let truncated = OpenError::Truncated { len: sealed.len() };
    // The version is checked first: it decides what the rest of the bytes mean.
    let Some((&version, _)) = sealed.split_first() else {
        return Err(truncated);
    };
    if version != FORMAT_VERSION {
        return Err(OpenError::UnknownVersion { version });
    }
    if sealed.len() < MIN_SEALED_LEN {
        return Err(truncated);
    }
    let (header, body) = sealed.split_at_checked(HEADER_LEN).ok_or(truncated.clone())?;
    let (id_bytes, nonce_bytes) =
        header.get(1..).ok_or(truncated.clone())?.split_at_checked(4).ok_or(truncated.clone())?;
    let dek_id = u32::from_be_bytes(id_bytes.try_into().map_err(|_| truncated.clone())?);
    let nonce = nonce_bytes.try_into().map_err(|_| truncated)?;
    Ok(Parsed { dek_id, header, nonce, body })
}

/// The data key a value was sealed under, read from its header without opening it.
///
/// For re-encryption after rotation: values whose id is not the active key's need resealing.
/// The id is not authenticated until the value is opened, so use it to pick work, not to trust.
pub fn dek_id_of(sealed: &[u8]) -> Result<u32, OpenError> {
    parse(sealed).map(|parsed| parsed.dek_id)
}

pub(crate) fn seal(key: &SecretKey, dek_id: u32, plaintext: &[u8], aad: &Aad) -> Result<Vec<u8>, SealError> {
    let nonce = aead::random_nonce().map_err(SealError::Randomness)?;
    let mut out = Vec::with_capacity(MIN_SEALED_LEN + plaintext.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&dek_id.to_be_bytes());
    out.extend_from_slice(&nonce);
    let associated = associated_data(&out, aad);
    aead::seal_into(key, &nonce, &associated, plaintext, &mut out).map_err(|aead::TooLong| SealError::TooLarge)?;
    Ok(out)
}

pub(crate) fn open(key: &SecretKey, parsed: &Parsed<'_>, aad: &Aad) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let associated = associated_data(parsed.header, aad);
    aead::open(key, &parsed.nonce, &associated, parsed.body)
        .map_err(|aead::AuthenticationFailed| OpenError::Authentication)
}

fn associated_data(header: &[u8], aad: &Aad) -> Vec<u8> {
    let mut associated = Vec::with_capacity(header.len() + aad.as_bytes().len());
    associated.extend_from_slice(header);
    associated.extend_from_slice(aad.as_bytes());
    associated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad() -> Aad {
        Aad::new("messages", "body", "row-1")
    }

    #[test]
    fn layout_is_version_id_nonce_body_tag() {
        let key = SecretKey::generate().unwrap();
        let sealed = seal(&key, 0x0102_0304, b"hello", &aad()).unwrap();
        assert_eq!(sealed.len(), MIN_SEALED_LEN + 5);
        assert_eq!(sealed[0], 1);
        assert_eq!(&sealed[1..5], &[1, 2, 3, 4]);
        assert_eq!(dek_id_of(&sealed), Ok(0x0102_0304));
        let parsed = parse(&sealed).unwrap();
        assert_eq!(&open(&key, &parsed, &aad()).unwrap()[..], b"hello");
    }

    #[test]
    fn nonces_are_fresh_per_seal() {
        let key = SecretKey::generate().unwrap();
        let a = seal(&key, 1, b"same", &aad()).unwrap();
        let b = seal(&key, 1, b"same", &aad()).unwrap();
        assert_ne!(a[5..HEADER_LEN], b[5..HEADER_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn header_errors() {
        assert_eq!(dek_id_of(&[]), Err(OpenError::Truncated { len: 0 }));
        assert_eq!(dek_id_of(&[1; MIN_SEALED_LEN - 1]), Err(OpenError::Truncated { len: MIN_SEALED_LEN - 1 }));
        assert_eq!(dek_id_of(&[2; 100]), Err(OpenError::UnknownVersion { version: 2 }));
        assert_eq!(dek_id_of(&[0]), Err(OpenError::UnknownVersion { version: 0 }));
        assert_eq!(dek_id_of(&[1; MIN_SEALED_LEN]), Ok(0x0101_0101));
    }

    #[test]
    fn header_is_authenticated() {
        let key = SecretKey::generate().unwrap();
        let mut sealed = seal(&key, 7, b"hello", &aad()).unwrap();
        sealed[4] ^= 1;
        // Same key, so only the authenticated header can make this fail.
        assert_eq!(open(&key, &parse(&sealed).unwrap(), &aad()), Err(OpenError::Authentication));
    }
}
