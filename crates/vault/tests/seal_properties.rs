//! Property tests of sealed values through the public API: whatever an attacker does to the
//! bytes or the context, opening either returns the original plaintext or an error, never
//! something else and never a panic.

// Helpers outside `#[test]` fns are not covered by clippy.toml's test allowances.
#![allow(clippy::unwrap_used)]

use palisade_vault::{Aad, Kek, Keyring, MIN_SEALED_LEN, OpenError, dek_id_of};
use proptest::prelude::*;

fn keyring(kek_byte: u8) -> Keyring {
    Keyring::initialize(Kek::from_bytes([kek_byte; 32]), 1).unwrap().0
}

#[derive(Clone, Debug)]
struct Location {
    table: String,
    column: String,
    row: String,
    room: Option<String>,
}

impl Location {
    fn aad(&self) -> Aad {
        let aad = Aad::new(&self.table, &self.column, &self.row);
        match &self.room {
            Some(room) => aad.with_context("room", room),
            None => aad,
        }
    }
}

fn location() -> impl Strategy<Value = Location> {
    (".{0,12}", ".{0,12}", ".{0,40}", proptest::option::of(".{0,40}")).prop_map(|(table, column, row, room)| Location {
        table,
        column,
        row,
        room,
    })
}

fn plaintext() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(plain in plaintext(), at in location()) {
        let keyring = keyring(1);
        let sealed = keyring.seal(&plain, &at.aad()).unwrap();
        prop_assert_eq!(sealed.len(), MIN_SEALED_LEN + plain.len());
        prop_assert_eq!(dek_id_of(&sealed), Ok(1));
        prop_assert_eq!(&keyring.open(&sealed, &at.aad()).unwrap()[..], &plain[..]);
    }

    #[test]
    fn any_other_location_fails_authentication(
        plain in plaintext(),
        at in location(),
        other in ".{0,40}",
        field in 0usize..5,
    ) {
        let keyring = keyring(1);
        let sealed = keyring.seal(&plain, &at.aad()).unwrap();
        let mut moved = at.clone();
        match field {
            0 => moved.table = other,
            1 => moved.column = other,
            2 => moved.row = other,
            3 => moved.room = Some(other),
            _ => moved.room = None,
        }
        prop_assume!(moved.aad() != at.aad());
        prop_assert_eq!(keyring.open(&sealed, &moved.aad()), Err(OpenError::Authentication));
    }

    #[test]
    fn another_keyring_cannot_open(plain in plaintext(), at in location()) {
        let sealed = keyring(1).seal(&plain, &at.aad()).unwrap();
        // Same key id, different key: the id names a key, it does not prove one.
        prop_assert_eq!(keyring(2).open(&sealed, &at.aad()), Err(OpenError::Authentication));
    }

    #[test]
    fn any_single_bit_flip_is_an_error(plain in plaintext(), at in location(), bit in any::<prop::sample::Index>()) {
        let keyring = keyring(1);
        let mut sealed = keyring.seal(&plain, &at.aad()).unwrap();
        let bit = bit.index(sealed.len() * 8);
        sealed[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(keyring.open(&sealed, &at.aad()).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128), at in location()) {
        let keyring = keyring(1);
        let mut forged = bytes;
        if let Some(first) = forged.first_mut() {
            *first = 1;
        }
        prop_assert!(keyring.open(&forged, &at.aad()).is_err());
        let _ = dek_id_of(&forged);
    }
}

#[test]
fn every_truncation_is_an_error() {
    let keyring = keyring(1);
    let aad = Aad::new("messages", "body", "row");
    for plain in [&b""[..], b"x", &[7u8; 100]] {
        let sealed = keyring.seal(plain, &aad).unwrap();
        for len in 0..sealed.len() {
            let result = keyring.open(&sealed[..len], &aad);
            let expected = if len < MIN_SEALED_LEN { OpenError::Truncated { len } } else { OpenError::Authentication };
            assert_eq!(result, Err(expected), "length {len} of {}", sealed.len());
        }
    }
}

#[test]
fn unknown_version_is_reported() {
    let keyring = keyring(1);
    let aad = Aad::new("users", "totp_secret", "u1");
    let mut sealed = keyring.seal(b"secret", &aad).unwrap();
    for version in [0u8, 2, 255] {
        sealed[0] = version;
        assert_eq!(keyring.open(&sealed, &aad), Err(OpenError::UnknownVersion { version }));
    }
}

#[test]
fn message_moved_to_another_room_fails() {
    let keyring = keyring(1);
    let in_room = |room: &str| Aad::new("messages", "body", "m1").with_context("room", room);
    let sealed = keyring.seal(b"hello", &in_room("r1")).unwrap();
    assert_eq!(keyring.open(&sealed, &in_room("r2")), Err(OpenError::Authentication));
    assert_eq!(keyring.open(&sealed, &Aad::new("messages", "body", "m1")), Err(OpenError::Authentication));
    assert_eq!(&keyring.open(&sealed, &in_room("r1")).unwrap()[..], b"hello");
}
