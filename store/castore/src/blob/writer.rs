//! Writing a blob: hash everything, cut into chunks, store new chunks in batches,
//! record the chunk list last (so a blob is never visible before all its parts).
//! Backends skip what they already have.
//!
//! Each byte is hashed twice (for the blob and for its chunk) while it is still
//! in cache, and never copied here: the writer keeps references to the caller's
//! buffers until their chunk is stored.

use std::io;

use bytes::Bytes;

use super::chunker::Chunker;
use super::{encode_chunk_list, BlobService, ChunkBatch, ChunkMeta};
use crate::{B3Digest, Error};

/// How many bytes of new chunks to collect before one backend write.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

pub struct BlobWriter<'s> {
    svc: &'s (dyn BlobService + 's),
    /// `None` when the caller hashes the whole blob itself (see
    /// [`BlobWriter::close_prehashed`]).
    hasher: Option<blake3::Hasher>,
    /// The hash of the current chunk so far; `None` for the first chunk, whose
    /// digest is the blob's if it is the only one, and is otherwise computed
    /// from `held` when it ends.
    chunk_hasher: Option<blake3::Hasher>,
    chunker: Chunker,
    /// The bytes of the current chunk so far, as the pieces they arrived in.
    held: Vec<Bytes>,
    chunks: Vec<ChunkMeta>,
    pending: ChunkBatch,
    size: u64,
}

impl<'s> BlobWriter<'s> {
    pub(super) fn new(svc: &'s (dyn BlobService + 's), hash: bool) -> Self {
        BlobWriter {
            svc,
            hasher: hash.then(blake3::Hasher::new),
            chunk_hasher: None,
            chunker: Chunker::default(),
            held: Vec::new(),
            chunks: Vec::new(),
            pending: ChunkBatch::default(),
            size: 0,
        }
    }

    /// Adds bytes to the blob (copying them once).
    pub fn write_all_bytes(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.write_bytes(Bytes::copy_from_slice(data))
    }

    /// Adds bytes to the blob without copying them: the writer keeps a reference
    /// until their chunk is stored.
    pub fn write_bytes(&mut self, mut data: Bytes) -> Result<(), Error> {
        if let Some(h) = &mut self.hasher {
            h.update(&data);
        }
        self.size += data.len() as u64;
        while let Some(n) = self.chunker.next_cut(&data) {
            self.hold(data.split_to(n));
            self.end_chunk(None)?;
        }
        if !data.is_empty() {
            self.hold(data);
        }
        Ok(())
    }

    fn hold(&mut self, piece: Bytes) {
        if let Some(h) = &mut self.chunk_hasher {
            h.update(&piece);
        }
        self.held.push(piece);
    }

    /// Ends the current chunk; `known` is its digest when that is the blob's.
    fn end_chunk(&mut self, known: Option<B3Digest>) -> Result<(), Error> {
        let digest = match (known, self.chunk_hasher.take()) {
            (Some(d), _) => d,
            (None, Some(h)) => B3Digest::from(h.finalize()),
            (None, None) => {
                let mut h = blake3::Hasher::new();
                for p in &self.held {
                    h.update(p);
                }
                B3Digest::from(h.finalize())
            }
        };
        self.chunk_hasher = Some(blake3::Hasher::new());
        let size: usize = self.held.iter().map(Bytes::len).sum();
        self.chunks.push(ChunkMeta {
            digest,
            size: size as u64,
        });
        // The backend skips chunks it has: asking it first would cost a round trip
        // per chunk on a remote one.
        if self.pending.contains(&digest) {
            self.held.clear();
            return Ok(());
        }
        self.pending.push(digest, self.held.drain(..));
        if self.pending.bytes() >= BATCH_BYTES {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<(), Error> {
        if !self.pending.is_empty() {
            self.svc.put_chunks(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Finishes the blob: stores what is left and records the chunk list.
    pub fn close(mut self) -> Result<WrittenBlob, Error> {
        match self.hasher.take() {
            Some(h) => self.finish(B3Digest::from(h.finalize())),
            None => Err(Error::Io(io::Error::other(
                "close() on a blob writer opened without hashing; use close_prehashed",
            ))),
        }
    }

    /// Finishes a blob whose BLAKE3 digest the caller computed over exactly the
    /// bytes written (so hashing the whole can run on another thread than
    /// chunking). A wrong digest stores a blob that every read and `verify`
    /// reports as corrupt.
    pub fn close_prehashed(self, digest: B3Digest) -> Result<WrittenBlob, Error> {
        self.finish(digest)
    }

    fn finish(mut self, digest: B3Digest) -> Result<WrittenBlob, Error> {
        if !self.held.is_empty() {
            // A blob of one chunk has the chunk's digest, already known.
            let known = self.chunks.is_empty().then_some(digest);
            self.end_chunk(known)?;
        }
        self.flush_pending()?;
        self.svc
            .put_chunk_list(&digest, encode_chunk_list(&self.chunks))?;
        Ok(WrittenBlob {
            digest,
            size: self.size,
        })
    }
}

/// What [`BlobWriter::close`] stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrittenBlob {
    pub digest: B3Digest,
    pub size: u64,
}

impl io::Write for BlobWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all_bytes(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
