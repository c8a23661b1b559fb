//! Reading a blob: chunk by chunk, each checked against its digest; a read from
//! start to end also checks the digest of the whole blob. Seeking is by chunk.

use std::io::{self, Read, Seek, SeekFrom};

use super::{BlobService, ChunkMeta};
use crate::{B3Digest, Error};

pub struct BlobReader<'s> {
    svc: &'s (dyn BlobService + 's),
    digest: B3Digest,
    chunks: Vec<ChunkMeta>,
    /// Start offset of each chunk.
    offsets: Vec<u64>,
    size: u64,
    pos: u64,
    current: Option<(usize, Vec<u8>)>,
    /// Hash of bytes [0, hashed) read so far, while reads have been contiguous.
    hasher: Option<blake3::Hasher>,
    hashed: u64,
}

/// Turns an io::Error from a reader back into the castore error inside it.
pub(crate) fn unwrap_io(e: io::Error) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<Error>()) {
        *e.into_inner()
            .expect("checked")
            .downcast::<Error>()
            .expect("checked")
    } else {
        Error::Io(e)
    }
}

impl<'s> BlobReader<'s> {
    pub(super) fn new(
        svc: &'s (dyn BlobService + 's),
        digest: B3Digest,
        chunks: Vec<ChunkMeta>,
    ) -> Self {
        let mut offsets = Vec::with_capacity(chunks.len());
        let mut size = 0u64;
        for c in &chunks {
            offsets.push(size);
            size = size.saturating_add(c.size);
        }
        BlobReader {
            svc,
            digest,
            chunks,
            offsets,
            size,
            pos: 0,
            current: None,
            hasher: Some(blake3::Hasher::new()),
            hashed: 0,
        }
    }

    /// The blob's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn load(&mut self, idx: usize) -> Result<(), Error> {
        if matches!(&self.current, Some((i, _)) if *i == idx) {
            return Ok(());
        }
        let meta = self.chunks[idx];
        let data = self.svc.get_chunk(&meta.digest)?.ok_or(Error::NotFound {
            kind: "chunk",
            digest: meta.digest,
        })?;
        let actual = B3Digest::of(&data);
        if actual != meta.digest || data.len() as u64 != meta.size {
            return Err(Error::Corrupt {
                kind: "chunk",
                digest: meta.digest,
                actual,
            });
        }
        self.current = Some((idx, data));
        Ok(())
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.pos >= self.size || buf.is_empty() {
            if self.pos == self.size && self.hashed == self.size {
                if let Some(h) = self.hasher.take() {
                    let actual = B3Digest::from(h.finalize());
                    if actual != self.digest {
                        return Err(Error::Corrupt {
                            kind: "blob",
                            digest: self.digest,
                            actual,
                        });
                    }
                }
            }
            return Ok(0);
        }
        let idx = self.offsets.partition_point(|&o| o <= self.pos) - 1;
        self.load(idx)?;
        let data = &self.current.as_ref().expect("loaded").1;
        let within = (self.pos - self.offsets[idx]) as usize;
        let n = buf.len().min(data.len() - within);
        buf[..n].copy_from_slice(&data[within..within + n]);
        if self.hashed == self.pos {
            if let Some(h) = &mut self.hasher {
                h.update(&buf[..n]);
                self.hashed += n as u64;
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf).map_err(io::Error::other)
    }
}

impl Seek for BlobReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(o) => Some(o),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) => {
                self.pos = t;
                Ok(t)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )),
        }
    }
}
