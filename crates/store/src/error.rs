//! What can go wrong in storage, in terms the server can map to a response.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the thing looked for does not exist")]
    NotFound,
    #[error("an account with this email already exists on this site")]
    EmailTaken,
    #[error("a site with public id {0:?} already exists")]
    SiteExists(String),
    #[error("{0}")]
    Conflict(String),
    #[error("stored data is not in the expected shape: {0}")]
    Corrupt(String),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("could not connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("the storage task stopped unexpectedly")]
    TaskFailed,
    #[error("the batch this write was part of was not committed: {0}")]
    BatchFailed(String),
}

impl StoreError {
    pub(crate) fn is_unique_violation(error: &diesel::result::Error) -> bool {
        matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
    }
}
