//! Encryption at rest as the server uses it: which values are sealed, what each is bound to,
//! and what happens when one does not open. Key material itself stays in `palisade-vault`.

mod keys;
mod reencrypt;

pub use keys::{KeySetupError, admin};
pub use reencrypt::spawn_maintenance;

use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

use palisade_auth::totp::TotpSecret;
use palisade_protocol::{MessageId, RoomId, UserId};
use palisade_store::Sealed;
use palisade_vault::{Aad, BlindIndexKey, Keyring};
use uuid::Uuid;

use crate::audit::{Audit, AuditEvent, Outcome};

/// Seals and opens stored values with the current keyring.
pub struct Sealer {
    keyring: RwLock<Keyring>,
    index: BlindIndexKey,
    kek_path: PathBuf,
    audit: Audit,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("active_key", &self.active_key()).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealing failed: {0}")]
pub struct SealFailed(String);

// The AAD of each sealed column. Row ids are the UUID text stored in the id column; the message
// body also names its room so a body moved to another room (or row) fails to open.
fn body_aad(id: &MessageId, room: &RoomId) -> Aad {
    Aad::new("messages", "body", &id.to_string()).with_context("room", &room.to_string())
}

// An earlier text of a message has its own row and is bound to it and to the message, so it
// cannot be swapped back into the message (or into another one) unnoticed.
fn version_aad(id: &Uuid, message: &MessageId) -> Aad {
    Aad::new("message_edits", "body", &id.to_string()).with_context("message", &message.to_string())
}

fn email_aad(user: &UserId, site: &Uuid) -> Aad {
    Aad::new("users", "email", &user.to_string()).with_context("site", &site.to_string())
}

fn email_index_under(key: &BlindIndexKey, site: &Uuid, email: &str) -> String {
    key.email(&site.to_string(), email).to_hex()
}

fn totp_secret_aad(user: &UserId) -> Aad {
    Aad::new("mfa_totp", "secret", &user.to_string())
}

impl Sealer {
    fn keyring(&self) -> std::sync::RwLockReadGuard<'_, Keyring> {
        self.keyring.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn active_key(&self) -> u32 {
        self.keyring().active_id()
    }

    fn seal(&self, plaintext: &[u8], aad: &Aad) -> Result<Sealed, SealFailed> {
        let keyring = self.keyring();
        let bytes = keyring.seal(plaintext, aad).map_err(|e| SealFailed(e.to_string()))?;
        Ok(Sealed { key_id: keyring.active_id(), bytes })
    }

    /// Opens a value, or reports it (without its content) and returns `None`.
    fn open(&self, sealed: &Sealed, aad: &Aad, table: &str, row: &dyn std::fmt::Display) -> Option<Vec<u8>> {
        match self.keyring().open(&sealed.bytes, aad) {
            Ok(plaintext) => Some(plaintext.to_vec()),
            Err(error) => {
                self.audit.record(
                    AuditEvent::new("crypt_decrypt_fail", Outcome::Failure)
                        .with_detail("table", table)
                        .with_detail("row", row.to_string())
                        .with_detail("key", sealed.key_id)
                        .with_detail("error", error.to_string()),
                );
                None
            }
        }
    }

    pub fn seal_body(&self, id: &MessageId, room: &RoomId, body: &str) -> Result<Sealed, SealFailed> {
        self.seal(body.as_bytes(), &body_aad(id, room))
    }

    /// The body, or `None` when it does not open (tampered, moved, or under a retired key).
    pub fn open_body(&self, id: &MessageId, room: &RoomId, sealed: &Sealed) -> Option<String> {
        let bytes = self.open(sealed, &body_aad(id, room), "messages", id)?;
        String::from_utf8(bytes).ok()
    }

    pub fn seal_version(&self, id: &Uuid, message: &MessageId, body: &str) -> Result<Sealed, SealFailed> {
        self.seal(body.as_bytes(), &version_aad(id, message))
    }

    /// An earlier text, or `None` when it does not open.
    pub fn open_version(&self, id: &Uuid, message: &MessageId, sealed: &Sealed) -> Option<String> {
        String::from_utf8(self.open(sealed, &version_aad(id, message), "message_edits", id)?).ok()
    }

    pub fn seal_email(&self, user: &UserId, site: &Uuid, email: &str) -> Result<Sealed, SealFailed> {
        self.seal(palisade_vault::normalize_email(email).as_bytes(), &email_aad(user, site))
    }

    /// The email, or `None` when it does not open (which is audited, naming `table`).
    pub fn open_email(&self, user: &UserId, site: &Uuid, sealed: &Sealed, table: &str) -> Option<String> {
        String::from_utf8(self.open(sealed, &email_aad(user, site), table, user)?).ok()
    }

    pub fn seal_totp_secret(&self, user: &UserId, secret: &TotpSecret) -> Result<Sealed, SealFailed> {
        self.seal(secret.expose_bytes(), &totp_secret_aad(user))
    }

    /// The secret, or `None` when it does not open (which is audited).
    pub fn open_totp_secret(&self, user: &UserId, sealed: &Sealed) -> Option<TotpSecret> {
        let bytes = zeroize::Zeroizing::new(self.open(sealed, &totp_secret_aad(user), "mfa_totp", user)?);
        TotpSecret::from_bytes(&bytes)
    }

    fn reseal(&self, sealed: &Sealed, aad: &Aad, table: &str, row: &dyn std::fmt::Display) -> Option<Sealed> {
        let plaintext = self.open(sealed, aad, table, row)?;
        match self.seal(&plaintext, aad) {
            Ok(resealed) => Some(resealed),
            Err(error) => {
                tracing::error!(%error, table, row = %row, "re-sealing failed");
                None
            }
        }
    }

    /// The blind index of an email on a site: what lookups and uniqueness use.
    pub fn email_index(&self, site: &Uuid, email: &str) -> String {
        email_index_under(&self.index, site, email)
    }
}
