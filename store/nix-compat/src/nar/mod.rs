//! NAR (Nix ARchive): the canonical serialisation of a file system tree that Nix
//! hashes and ships.
//!
//! The format is a sequence of strings, each a little-endian u64 length followed by
//! the bytes and zero padding to a multiple of 8:
//!
//! ```text
//! "nix-archive-1" node
//! node  = "(" "type" ( "regular" ["executable" ""] "contents" <bytes>
//!                    | "symlink" "target" <bytes>
//!                    | "directory" { "entry" "(" "name" <bytes> "node" node ")" } ) ")"
//! ```
//!
//! Directory entries appear in strictly increasing byte order of their names.
//! [`writer`] produces archives and enforces that order, [`reader`] consumes them
//! pull-style and rejects anything C++ Nix would not have written, [`tree`] holds a
//! whole archive in memory (for tests and small trees), [`hashing`] computes a
//! NAR's hash and size as it is written, and [`dump`] (feature `fs`) archives a
//! path on disk like `nix-store --dump`.

#[cfg(all(feature = "fs", unix))]
pub mod dump;
pub mod hashing;
pub mod reader;
pub mod tree;
pub mod writer;

pub use hashing::NarHasher;
pub use reader::{NarReadError, NarReader};
pub use writer::NarWriteError;

/// The first string of every archive.
pub const MAGIC: &[u8] = b"nix-archive-1";

/// Whether `name` may name a directory entry: non-empty, not `.` or `..`, and free
/// of `/` and NUL.
pub fn is_valid_entry_name(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

/// Padding needed after a string of `len` bytes.
pub(crate) fn padding_len(len: u64) -> usize {
    ((8 - len % 8) % 8) as usize
}
