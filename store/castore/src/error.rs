//! Errors of the content-addressed store.

use crate::{B3Digest, DirectoryError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Boxed: redb's error is large and this path is rare.
    #[error("storage backend: {0}")]
    Storage(Box<redb::Error>),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Stored bytes no longer hash to the digest they are stored under.
    #[error("corrupt {kind} {digest}: stored data hashes to {actual}")]
    Corrupt {
        kind: &'static str,
        digest: B3Digest,
        actual: B3Digest,
    },
    /// Stored metadata could not be decoded at all.
    #[error("corrupt {kind} {digest}: {reason}")]
    Malformed {
        kind: &'static str,
        digest: B3Digest,
        reason: String,
    },
    #[error("{kind} {digest} not found")]
    NotFound {
        kind: &'static str,
        digest: B3Digest,
    },
    #[error("invalid directory {digest}: {source}")]
    InvalidDirectory {
        digest: B3Digest,
        source: DirectoryError,
    },
    /// A store server failed a request, sent something malformed, or could not be
    /// reached.
    #[error("remote store: {0}")]
    Remote(String),
    /// Serving the store failed (e.g. the address to listen on is taken).
    #[error("store server: {0}")]
    Server(String),
    /// The store on disk was written in a layout this code does not read.
    #[error("store at {path} cannot be opened: {reason}")]
    UnsupportedFormat { path: String, reason: String },
    #[error("store at {path} is in use by another process and did not become free in {secs}s")]
    Busy { path: String, secs: u64 },
}

macro_rules! redb_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Storage(Box::new(e.into()))
            }
        }
    )*};
}
redb_error!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
