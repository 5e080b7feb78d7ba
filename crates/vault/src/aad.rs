//! Associated data: where a sealed value belongs.
//!
//! A sealed value only opens with the same table, column, row id and extra context it was sealed
//! with, so someone who can write to the database cannot move a ciphertext to another row,
//! column or table, or a message into another room: it would fail authentication there.

/// Prefix of every encoding, so these bytes can never be mistaken for associated data built by
/// some other scheme or a later version of this one.
const DOMAIN: &[u8] = b"palisade/v1/aad";

/// The encoded location of a sealed value.
///
/// Each field is written with its length in front, which makes the encoding injective:
/// `("ab", "c")` and `("a", "bc")` give different bytes. Pass ids in the exact text form stored
/// in the id column (a UUID's hyphenated lower-case string, say), and add context fields in the
/// same order on seal and open; the order is part of the encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aad {
    encoded: Vec<u8>,
}

impl Aad {
    pub fn new(table: &str, column: &str, row_id: &str) -> Self {
        let mut aad = Self { encoded: DOMAIN.to_vec() };
        for field in [table, column, row_id] {
            aad.push_field(field.as_bytes());
        }
        aad
    }

    /// Binds one more named fact, such as `("room", room_id)` for a message body. The name is
    /// encoded too, so a room id cannot stand in for some other context with the same value.
    pub fn with_context(mut self, name: &str, value: &str) -> Self {
        self.push_field(name.as_bytes());
        self.push_field(value.as_bytes());
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }

    fn push_field(&mut self, field: &[u8]) {
        // u64 so no length can be truncated into a collision.
        self.encoded.extend_from_slice(&(field.len() as u64).to_be_bytes());
        self.encoded.extend_from_slice(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_are_unambiguous() {
        assert_ne!(Aad::new("ab", "c", "r"), Aad::new("a", "bc", "r"));
        assert_ne!(Aad::new("t", "ab", "c"), Aad::new("t", "a", "bc"));
        assert_ne!(Aad::new("t", "c", "r").with_context("ab", "c"), Aad::new("t", "c", "r").with_context("a", "bc"));
        assert_ne!(Aad::new("t", "c", "r"), Aad::new("t", "c", "r").with_context("", ""));
        assert_ne!(
            Aad::new("t", "c", "r").with_context("room", "1"),
            Aad::new("t", "c", "r").with_context("site", "1")
        );
    }

    #[test]
    fn context_order_matters() {
        let base = Aad::new("t", "c", "r");
        assert_ne!(
            base.clone().with_context("a", "1").with_context("b", "2"),
            base.with_context("b", "2").with_context("a", "1")
        );
    }

    #[test]
    fn encoding_is_stable() {
        // Changing this breaks every stored ciphertext; the test makes that a deliberate act.
        let aad = Aad::new("messages", "body", "r1").with_context("room", "x");
        let mut expected = b"palisade/v1/aad".to_vec();
        for field in ["messages", "body", "r1", "room", "x"] {
            expected.extend_from_slice(&(field.len() as u64).to_be_bytes());
            expected.extend_from_slice(field.as_bytes());
        }
        assert_eq!(aad.as_bytes(), expected.as_slice());
    }
}
