//! Opaque bearer secrets (refresh tokens, sign-in challenge tickets): 256 random bits, handed
//! out once and stored only as a SHA-256 hash. A fast hash is right here: the input is a
//! uniformly random 256-bit value, not a password, so there is nothing to brute-force.

use rand::RngCore;
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;

/// A freshly minted refresh token: the value for the cookie and the hash for the database.
pub struct NewToken {
    pub token: String,
    pub hash: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken").field("hash", &self.hash).finish_non_exhaustive()
    }
}

pub fn generate() -> NewToken {
    let mut bytes = [0_u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    NewToken { token: hex::encode(bytes), hash: hex::encode(Sha256::digest(bytes)) }
}

/// The storage hash of a presented token, or `None` when it is not even shaped like one.
pub fn hash(presented: &str) -> Option<String> {
    let mut bytes = [0_u8; TOKEN_BYTES];
    hex::decode_to_slice(presented, &mut bytes).ok()?;
    Some(hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_what_was_stored() {
        let a = generate();
        let b = generate();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 64);
        assert_eq!(hash(&a.token).as_deref(), Some(a.hash.as_str()));
        assert_ne!(a.hash, a.token);
        assert!(!format!("{a:?}").contains(&a.token));
    }

    #[test]
    fn malformed_tokens_have_no_hash() {
        for bad in ["", "zz", &"a".repeat(63), &"a".repeat(66), &"g".repeat(64)] {
            assert_eq!(hash(bad), None, "{bad:?}");
        }
    }
}
