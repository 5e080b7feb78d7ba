//! UUIDs are stored as text on both backends; reading one back validates it.

use uuid::Uuid;

use crate::StoreError;

pub(crate) fn new_id() -> Uuid {
    Uuid::new_v4()
}

pub(crate) fn parse(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("not a UUID: {text:?}")))
}

pub(crate) fn to_text(id: &Uuid) -> String {
    id.hyphenated().to_string()
}

/// Sequence numbers are `u64` on the wire and `BIGINT` in storage.
pub(crate) fn seq_from_db(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("negative sequence number {seq}")))
}

pub(crate) fn seq_to_db(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Data-key ids are `u32` in the vault and `INTEGER` in storage.
pub(crate) fn key_id_to_db(id: u32) -> Result<i32, StoreError> {
    i32::try_from(id).map_err(|_| StoreError::Corrupt(format!("key id {id} out of range")))
}

pub(crate) fn key_id_from_db(id: i32) -> Result<u32, StoreError> {
    u32::try_from(id).map_err(|_| StoreError::Corrupt(format!("negative key id {id}")))
}
