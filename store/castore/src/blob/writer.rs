//! Writing a blob: [`BlobCutter`] hashes it and cuts it into chunks,
//! [`BlobRecorder`] stores new chunks in batches and records the chunk list last
//! (so a blob is never visible before all its parts). The two can run on one
//! thread ([`BlobWriter`]) or on two. Backends skip what they already have.

use std::io;

use bytes::Bytes;

use super::cutter::BlobCutter;
use super::{encode_chunk_list, BlobService, ChunkBatch, ChunkMeta};
use crate::{B3Digest, Error};

/// How many bytes of new chunks to collect before one backend write.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Stores the chunks of one blob as they come, then the blob's chunk list.
pub struct BlobRecorder<'s> {
    svc: &'s (dyn BlobService + 's),
    chunks: Vec<ChunkMeta>,
    pending: ChunkBatch,
}

impl<'s> BlobRecorder<'s> {
    pub fn new(svc: &'s (dyn BlobService + 's)) -> Self {
        BlobRecorder {
            svc,
            chunks: Vec::new(),
            pending: ChunkBatch::default(),
        }
    }

    /// The next chunk of the blob: its digest and its bytes, in pieces.
    pub fn add_chunk(
        &mut self,
        digest: B3Digest,
        pieces: impl IntoIterator<Item = Bytes>,
    ) -> Result<(), Error> {
        // The backend skips chunks it has: asking it first would cost a round trip
        // per chunk on a remote one.
        let size = if self.pending.contains(&digest) {
            pieces.into_iter().map(|p| p.len()).sum()
        } else {
            let before = self.pending.bytes();
            self.pending.push(digest, pieces);
            self.pending.bytes() - before
        };
        self.chunks.push(ChunkMeta {
            digest,
            size: size as u64,
        });
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

    /// Stores what is left and records the chunk list under `digest`, which the
    /// caller computed over exactly the chunks added. A wrong digest stores a
    /// blob that every read and `verify` reports as corrupt.
    pub fn finish(mut self, digest: B3Digest) -> Result<(), Error> {
        self.flush_pending()?;
        self.svc
            .put_chunk_list(&digest, encode_chunk_list(&self.chunks))
    }
}

/// Hashes, cuts and stores a blob on the calling thread.
pub struct BlobWriter<'s> {
    cutter: BlobCutter,
    recorder: BlobRecorder<'s>,
}

impl<'s> BlobWriter<'s> {
    pub(super) fn new(svc: &'s (dyn BlobService + 's)) -> Self {
        BlobWriter {
            cutter: BlobCutter::default(),
            recorder: BlobRecorder::new(svc),
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
    pub fn write_bytes(&mut self, data: Bytes) -> Result<(), Error> {
        let recorder = &mut self.recorder;
        self.cutter
            .write(data, &mut |d, pieces| recorder.add_chunk(d, pieces))
    }

    /// Finishes the blob: stores what is left and records the chunk list.
    pub fn close(self) -> Result<WrittenBlob, Error> {
        let mut recorder = self.recorder;
        let (digest, size) = self
            .cutter
            .finish(&mut |d, pieces| recorder.add_chunk(d, pieces))?;
        recorder.finish(digest)?;
        Ok(WrittenBlob { digest, size })
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
