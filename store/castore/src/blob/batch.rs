//! A batch of new chunks on their way to a backend, each as the pieces of shared
//! buffers it arrived in, so that a backend writing to a file can write them
//! straight from those buffers and one that keeps them in memory copies once.

use bytes::Bytes;

use crate::B3Digest;

/// Chunks to store. Reused by its writer: clearing keeps the allocations.
#[derive(Default, Debug, Clone)]
pub struct ChunkBatch {
    /// Digest, length, and the end of the chunk's pieces in `pieces`.
    chunks: Vec<(B3Digest, usize, usize)>,
    pieces: Vec<Bytes>,
    bytes: usize,
}

impl ChunkBatch {
    /// Adds a chunk made of `pieces`, in order.
    pub fn push(&mut self, digest: B3Digest, pieces: impl IntoIterator<Item = Bytes>) {
        let mut len = 0;
        for p in pieces {
            len += p.len();
            self.pieces.push(p);
        }
        self.chunks.push((digest, len, self.pieces.len()));
        self.bytes += len;
    }

    /// A batch of chunks that are each one buffer already.
    pub fn of(chunks: impl IntoIterator<Item = (B3Digest, Bytes)>) -> Self {
        let mut b = ChunkBatch::default();
        for (d, data) in chunks {
            b.push(d, [data]);
        }
        b
    }

    /// The chunks: digest, length, pieces.
    pub fn iter(&self) -> impl Iterator<Item = (B3Digest, usize, &[Bytes])> + '_ {
        let mut start = 0;
        self.chunks.iter().map(move |&(d, len, end)| {
            let pieces = &self.pieces[start..end];
            start = end;
            (d, len, pieces)
        })
    }

    /// Every piece of every chunk, in order.
    pub fn pieces(&self) -> &[Bytes] {
        &self.pieces
    }

    pub fn contains(&self, digest: &B3Digest) -> bool {
        self.chunks.iter().any(|(d, _, _)| d == digest)
    }

    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Total bytes of all chunks.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.pieces.clear();
        self.bytes = 0;
    }
}

/// The bytes of a chunk in a vector of its own (one copy).
pub fn join_pieces(pieces: &[Bytes]) -> Vec<u8> {
    let mut v = Vec::with_capacity(pieces.iter().map(Bytes::len).sum());
    for p in pieces {
        v.extend_from_slice(p);
    }
    v
}
