//! Errors of the store.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: unsupported file type (only regular files, directories and symlinks can be stored)")]
    UnsupportedFileType { path: PathBuf },
    #[error("{path}: {source}")]
    NarWrite {
        path: PathBuf,
        source: nix_compat::nar::writer::NarWriteError,
    },
    #[error("writing NAR: {0}")]
    Render(nix_compat::nar::writer::NarWriteError),
    #[error("reading NAR: {0}")]
    NarRead(#[from] nix_compat::nar::reader::NarReadError),
    #[error(transparent)]
    Castore(#[from] tvix_castore::Error),
    #[error("{what} {name:?} has size {actual} in the store, but its entry says {claimed}")]
    SizeMismatch {
        what: &'static str,
        name: String,
        claimed: u64,
        actual: u64,
    },
    #[error("invalid store path {path:?}: {reason}")]
    InvalidStorePath { path: String, reason: String },
    #[error("{0} is not in the store")]
    PathNotFound(String),
    #[error("corrupt path info for {key}: {reason}")]
    CorruptPathInfo { key: String, reason: String },
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("NAR hash or size mismatch: recorded sha256:{expected} ({expected_size} bytes), contents give sha256:{actual} ({actual_size} bytes)")]
    NarHashMismatch {
        expected: String,
        actual: String,
        expected_size: u64,
        actual_size: u64,
    },
    #[error("NAR directories nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("{0} is not built yet")]
    NotBuilt(&'static str),
    #[error("{path:?} does not exist in {store_path}")]
    NoSuchEntry { store_path: String, path: String },
    #[error("{0} is not a directory")]
    NotADirectory(String),
    #[error("{0} is not a regular file")]
    NotAFile(String),
    #[error("{0} is below a store path; a store path is needed here")]
    NotAStorePath(String),
    #[error("writing output: {0}")]
    Output(std::io::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
