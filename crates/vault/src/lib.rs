//! Encryption at rest for Palisade: the only crate that touches key material.
//!
//! Envelope scheme: a key-encryption key ([`Kek`]) lives in a 0600 file outside the database and
//! only ever wraps data-encryption keys. Data keys ([`Dek`]) are stored in the database wrapped
//! ([`WrappedDek`]), each with an id and a state; a [`Keyring`] holds them unwrapped in memory
//! and seals values with the single active one using XChaCha20-Poly1305 and a random nonce.
//! Every sealed value names its key id (see [`sealed`]) and is bound by [`Aad`] to its table,
//! column and row, so it neither opens elsewhere nor after tampering. Rotating data keys leaves
//! old ones decrypt-only until re-encryption moves values on; rotating the KEK only rewraps the
//! data keys. Emails get a [`BlindIndex`] under a separate key for lookup and uniqueness.

mod aad;
mod aead;
pub mod blind_index;
mod dek;
mod fingerprint;
mod kek;
mod key_file;
mod keyring;
pub mod sealed;
mod secret_key;
mod signing_key;

pub use aad::Aad;
pub use blind_index::{BLIND_INDEX_LEN, BlindIndex, BlindIndexKey, normalize_email};
pub use dek::{Dek, DekState, UnknownDekState, WrappedDek};
pub use fingerprint::KeyFingerprint;
pub use kek::Kek;
pub use key_file::KeyFileError;
pub use keyring::{Keyring, KeyringError, PendingRotation};
pub use sealed::{FORMAT_VERSION, MIN_SEALED_LEN, OpenError, SealError, dek_id_of};
pub use secret_key::KEY_LEN;
pub use signing_key::SigningKey;
