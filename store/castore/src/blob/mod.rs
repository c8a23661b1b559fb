//! Blobs: file contents, named by the BLAKE3 digest of all their bytes, stored as
//! content-defined chunks (each named by its own BLAKE3) plus a chunk list.
//!
//! Backends implement the small [`BlobService`] trait (chunks and chunk lists as
//! bytes); writing, reading, seeking and verification are here, once.

mod batch;
mod chunker;
mod cutter;
mod memory;
mod reader;
mod shared;
mod writer;

pub use batch::{join_pieces, ChunkBatch};
pub use chunker::{AVG_CHUNK, MAX_CHUNK, MIN_CHUNK};
pub use cutter::BlobCutter;
pub use memory::MemoryBlobService;
pub use reader::BlobReader;
pub use shared::SharedPiece;
pub use writer::{BlobRecorder, BlobWriter, WrittenBlob};

use crate::{B3Digest, Error};

/// One chunk of a blob: its digest and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    pub digest: B3Digest,
    pub size: u64,
}

/// Encodes a chunk list: 40 bytes per chunk (digest, then little-endian size).
pub fn encode_chunk_list(chunks: &[ChunkMeta]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunks.len() * 40);
    for c in chunks {
        out.extend_from_slice(&c.digest.0);
        out.extend_from_slice(&c.size.to_le_bytes());
    }
    out
}

/// Decodes a chunk list written by [`encode_chunk_list`]; `None` if malformed.
pub fn decode_chunk_list(bytes: &[u8]) -> Option<Vec<ChunkMeta>> {
    if !bytes.chunks_exact(40).remainder().is_empty() {
        return None;
    }
    Some(
        bytes
            .chunks_exact(40)
            .map(|c| ChunkMeta {
                digest: B3Digest(c[..32].try_into().expect("32 bytes")),
                size: u64::from_le_bytes(c[32..].try_into().expect("8 bytes")),
            })
            .collect(),
    )
}

/// Where blobs are kept. Implementors store bytes; they need not check anything.
pub trait BlobService: Send + Sync {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error>;
    fn has_chunk(&self, digest: &B3Digest) -> Result<bool, Error>;
    /// Stores several chunks at once (one write, one transaction), skipping those
    /// already stored. The digests are the writer's; a backend need not check them.
    fn put_chunks(&self, chunks: &ChunkBatch) -> Result<(), Error>;
    /// The stored chunk list of a blob, encoded by [`encode_chunk_list`].
    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error>;
    /// Records a blob, unless it is recorded already. Called only after all its
    /// chunks were passed to [`Self::put_chunks`].
    fn put_chunk_list(&self, blob: &B3Digest, list: Vec<u8>) -> Result<(), Error>;
    /// Stores what the backend has buffered (a remote one sends writes in
    /// batches); its errors are those of the writes it sends. Reads see buffered
    /// writes without it. Writers call it when done.
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
    /// Every stored blob digest (for `verify`).
    fn list_blobs(&self) -> Result<Vec<B3Digest>, Error>;
    /// Every stored chunk digest (for `verify`).
    fn list_chunks(&self) -> Result<Vec<B3Digest>, Error>;
}

impl<'a> dyn BlobService + 'a {
    /// True if the blob is stored (its chunk list exists).
    pub fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        Ok(self.get_chunk_list(digest)?.is_some())
    }

    /// The chunks of a blob, or `None` if it is not stored.
    pub fn chunks(&self, digest: &B3Digest) -> Result<Option<Vec<ChunkMeta>>, Error> {
        match self.get_chunk_list(digest)? {
            None => Ok(None),
            Some(bytes) => decode_chunk_list(&bytes).map(Some).ok_or(Error::Malformed {
                kind: "blob chunk list",
                digest: *digest,
                reason: format!("length {} is not a multiple of 40", bytes.len()),
            }),
        }
    }

    /// Opens a blob for reading (and seeking); `None` if it is not stored.
    pub fn open_read(&self, digest: &B3Digest) -> Result<Option<BlobReader<'_>>, Error> {
        Ok(self
            .chunks(digest)?
            .map(|chunks| BlobReader::new(self, *digest, chunks)))
    }

    /// Starts writing a new blob.
    pub fn open_write(&self) -> BlobWriter<'_> {
        BlobWriter::new(self)
    }

    /// Stores `data` as a blob (flushing the backend) and returns its digest.
    pub fn put_bytes(&self, data: &[u8]) -> Result<B3Digest, Error> {
        let mut w = self.open_write();
        w.write_all_bytes(data)?;
        let digest = w.close()?.digest;
        self.flush()?;
        Ok(digest)
    }

    /// Reads a whole blob into memory, verifying it; absent blobs are an error.
    pub fn read_to_vec(&self, digest: &B3Digest) -> Result<Vec<u8>, Error> {
        use std::io::Read;
        let mut r = self.open_read(digest)?.ok_or(Error::NotFound {
            kind: "blob",
            digest: *digest,
        })?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(reader::unwrap_io)?;
        Ok(out)
    }

    /// Re-hashes one stored chunk.
    pub fn verify_chunk(&self, digest: &B3Digest) -> Result<(), Error> {
        let data = self.get_chunk(digest)?.ok_or(Error::NotFound {
            kind: "chunk",
            digest: *digest,
        })?;
        let actual = B3Digest::of(&data);
        if actual != *digest {
            return Err(Error::Corrupt {
                kind: "chunk",
                digest: *digest,
                actual,
            });
        }
        Ok(())
    }

    /// Re-reads every chunk of the blob and the whole blob, checking both digests.
    pub fn verify(&self, digest: &B3Digest) -> Result<(), Error> {
        use std::io::{copy, sink};
        let mut r = self.open_read(digest)?.ok_or(Error::NotFound {
            kind: "blob",
            digest: *digest,
        })?;
        copy(&mut r, &mut sink()).map_err(reader::unwrap_io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
