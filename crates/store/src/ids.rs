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
