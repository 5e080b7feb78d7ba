//! Recovery codes: ten per person, each 80 random bits shown once as `XXXX-XXXX-XXXX-XXXX`
//! (base32, no look-alike ambiguity worries: input is normalised), stored as SHA-256 hashes,
//! single use. 80 bits make a stolen hash as useless as a stolen random token: there is nothing
//! to brute-force, so a fast hash is enough.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const COUNT: usize = 10;
const CODE_BYTES: usize = 10;

/// A new set: the codes to show once and the hashes to store.
pub struct NewCodes {
    pub codes: Vec<String>,
    pub hashes: Vec<String>,
}

impl std::fmt::Debug for NewCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCodes").field("count", &self.codes.len()).finish_non_exhaustive()
    }
}

pub fn generate() -> NewCodes {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut codes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let mut bytes = [0_u8; CODE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        // 80 bits = 16 base32 characters.
        let mut bits = u128::from_be_bytes({
            let mut wide = [0_u8; 16];
            wide[6..].copy_from_slice(&bytes);
            wide
        });
        let mut chars = [0_u8; 16];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(bits & 31) as usize];
            bits >>= 5;
        }
        let text: Vec<String> = chars.chunks(4).map(|g| String::from_utf8_lossy(g).into_owned()).collect();
        codes.push(text.join("-"));
    }
    let hashes = codes.iter().filter_map(|c| hash(c)).collect();
    NewCodes { codes, hashes }
}

/// The hash of a typed code (case, spaces and dashes do not matter), or `None` when it cannot
/// be a code at all.
pub fn hash(typed: &str) -> Option<String> {
    let normalised: String =
        typed.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
    let valid = normalised.len() == 16 && normalised.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7'));
    valid.then(|| hex::encode(Sha256::digest(normalised.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_hash_the_way_they_are_typed_back() {
        let new = generate();
        assert_eq!(new.codes.len(), COUNT);
        assert_eq!(new.hashes.len(), COUNT);
        let mut unique = new.codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        let code = &new.codes[3];
        assert_eq!(code.len(), 19);
        assert_eq!(hash(code).as_ref(), Some(&new.hashes[3]));
        let sloppy = code.to_lowercase().replace('-', " ");
        assert_eq!(hash(&sloppy).as_ref(), Some(&new.hashes[3]));
        assert!(!format!("{new:?}").contains(code.as_str()));
    }

    #[test]
    fn things_that_cannot_be_codes_have_no_hash() {
        for bad in ["", "ABCD-EFGH", "ABCD-EFGH-IJKL-MNO1", "ABCD-EFGH-IJKL-MNOPQ", "123456"] {
            assert_eq!(hash(bad), None, "{bad}");
        }
    }
}
