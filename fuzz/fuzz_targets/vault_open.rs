//! Opening sealed values and unwrapping stored data keys that an attacker with write access to
//! the database controls. The first input byte picks a mode:
//!
//! 0. the rest as a sealed value: it must not open (nothing here can forge the tag);
//! 1. the rest as a plaintext that is sealed, then altered as the input says: the original opens
//!    to the plaintext; any alteration, or the wrong row, must not open;
//! 2. the rest as a stored wrapped data key: it must not unwrap.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_vault::{Aad, DekState, Kek, Keyring, OpenError, WrappedDek, dek_id_of};

/// Each mode has its own keys. libFuzzer watches comparisons and splices the values it sees
/// into later inputs, so a value sealed in mode 1 turns up in mode 0: under a shared keyring it
/// would open there (as it should), which is a genuine seal, not a forgery.
const OPENING_KEK: [u8; 32] = [1; 32];
const SEALING_KEK: [u8; 32] = [2; 32];
/// Never wraps anything, so no genuine wrapped key for it exists in this process.
const UNWRAPPING_KEK: [u8; 32] = [3; 32];

/// Key 1 retired, 2 decrypt-only, 3 active: every branch of the key lookup is reachable.
fn keyring_with_every_state(kek: [u8; 32]) -> Keyring {
    let (mut keyring, _) = Keyring::initialize(Kek::from_bytes(kek), 1).expect("a keyring");
    keyring.rotate(2).expect("rotate to 2");
    keyring.rotate(3).expect("rotate to 3");
    keyring.retire(1).expect("retire 1");
    keyring
}

/// Only ever opens.
fn opening_keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| keyring_with_every_state(OPENING_KEK))
}

fn sealing_keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| keyring_with_every_state(SEALING_KEK))
}

fn aad() -> Aad {
    Aad::new("messages", "body", "row-1").with_context("room", "room-1")
}

fn hostile_sealed(bytes: &[u8]) {
    let opened = opening_keyring().open(bytes, &aad());
    assert!(opened.is_err(), "a value that seal did not produce opened");
    // The header reader and the opener agree on what is malformed.
    if let Err(error @ (OpenError::Truncated { .. } | OpenError::UnknownVersion { .. })) = &opened {
        assert_eq!(dek_id_of(bytes).as_ref().err(), Some(error));
    }
}

fn altered_seal(input: &[u8]) {
    // Four bytes say how to alter: where, what to xor there, and how many bytes to cut or add.
    let (how, plaintext) = input.split_at(input.len().min(4));
    let keyring = sealing_keyring();
    let sealed = keyring.seal(plaintext, &aad()).expect("sealing works");
    assert_eq!(&keyring.open(&sealed, &aad()).expect("a fresh seal opens")[..], plaintext);
    assert!(keyring.open(&sealed, &Aad::new("messages", "body", "row-2")).is_err(), "opened on another row");

    let mut altered = sealed.clone();
    let [at, mask, cut, add] = [0, 1, 2, 3].map(|i| how.get(i).copied().unwrap_or(0));
    if let Some(byte) = altered.get_mut(usize::from(at) % sealed.len()) {
        *byte ^= mask;
    }
    altered.truncate(altered.len().saturating_sub(usize::from(cut) % 8));
    altered.extend(std::iter::repeat_n(add, usize::from(add) % 4));
    if altered != sealed {
        assert!(keyring.open(&altered, &aad()).is_err(), "an altered value opened");
    }
}

fn hostile_wrapped_key(bytes: &[u8]) {
    let stored = [WrappedDek { id: 1, state: DekState::Active, wrapped: bytes.to_vec() }];
    assert!(Keyring::unwrap_all(Kek::from_bytes(UNWRAPPING_KEK), &stored).is_err(), "a forged data key unwrapped");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => hostile_sealed(rest),
        1 => altered_seal(rest),
        _ => hostile_wrapped_key(rest),
    }
});
