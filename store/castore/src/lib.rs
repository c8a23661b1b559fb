//! tvix-castore: a content-addressed store of blobs (file contents) and directories,
//! both keyed by their BLAKE3 digest.
//!
//! Blobs are split into content-defined chunks so that a changed region of a large
//! file only adds new chunks; every read re-checks digests. Directories are protobuf
//! messages with one canonical encoding, validated before they are stored.
//!
//! Backends (in memory, the on-disk default in [`disk`] (a redb database beside
//! append-only pack files), a gRPC client of a
//! store server in [`grpc`], and a cache in front of a remote in [`layered`]) only
//! store bytes under keys; chunking, verification and validation live in one place
//! above them.
//!
//! This crate must not know about Nix: no store paths, no NAR, no SHA-256. Those
//! belong to `nix-compat` and `tvix-store`.

pub mod blob;
mod digest;
pub mod directory;
pub mod disk;
mod error;
pub mod grpc;
pub mod layered;
pub mod proto;
pub mod test_data;

pub use blob::{
    BlobCutter, BlobReader, BlobRecorder, BlobService, BlobWriter, ChunkBatch, ChunkMeta,
    MemoryBlobService, SharedPiece, WrittenBlob,
};
/// The shared byte buffers [`BlobWriter::write_bytes`] takes, re-exported so users
/// need no dependency of their own.
pub use bytes::{Bytes, BytesMut};
pub use digest::{B3Digest, DigestParseError};
pub use directory::{DirectoryError, DirectoryService, MemoryDirectoryService};
pub use disk::DiskBackend;
pub use error::Error;
pub use proto::{Directory, DirectoryNode, FileNode, Node, SymlinkNode};
