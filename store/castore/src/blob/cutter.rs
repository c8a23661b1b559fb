//! Cutting a blob into chunks and hashing it: the blob's BLAKE3 and each chunk's
//! are computed on the same small slices, one after the other, so each byte is
//! read from memory once and hashed twice while it is in cache. Nothing is
//! copied: chunks come out as pieces of the caller's buffers. The blob's BLAKE3
//! can be shared with another thread ([`SharedPiece`]).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::chunker::{Chunker, MIN_CHUNK};
use super::shared::{prefix_digest, SharedPiece, UnitTree, UNIT};
use crate::B3Digest;

/// Bytes hashed by both hashers in turn: small enough to stay in the first-level
/// cache between the two, large enough for BLAKE3's wide SIMD paths. Equal to
/// the units of shared pieces, so a slice is a unit.
const SLICE: usize = UNIT;

// `finish` rehashes a one-unit shared blob from the bytes of its first chunk.
const _: () = assert!(MIN_CHUNK >= UNIT);

#[derive(Default)]
pub struct BlobCutter {
    /// The blob's hash, for bytes given to [`Self::write`].
    hasher: blake3::Hasher,
    /// The blob's hash, for pieces given to [`Self::write_shared`]: the pieces
    /// not joined yet, and the units of those before, joined. Not joined are
    /// the latest piece, whose units another thread may still be hashing, and
    /// while the first chunk lasts all pieces, whose units make its digest.
    shared: VecDeque<Arc<SharedPiece>>,
    tree: UnitTree,
    shared_mode: bool,
    /// The hash of the current chunk so far; `None` for the first chunk, whose
    /// digest is the blob's if it is the only one, and is otherwise computed
    /// when it ends, from the units of shared pieces or else from `held` (most
    /// blobs are one chunk: this spares hashing them twice).
    chunk_hasher: Option<blake3::Hasher>,
    /// Bytes of the current chunk given to `chunk_hasher` (counted also while
    /// it is `None`).
    chunk_hashed: usize,
    chunker: Chunker,
    /// The bytes of the current chunk so far, as the pieces they arrived in.
    held: Vec<Bytes>,
    chunks: u64,
    size: u64,
}

impl BlobCutter {
    /// Adds bytes to the blob; `on_chunk(digest, pieces)` is called for each
    /// chunk that ends in them. Both hashers are fed whole slices measured from
    /// the start of what they hash, as BLAKE3 is fastest when each update is a
    /// power-of-two run of its 1 KiB chunks: the blob's from the start of `data`
    /// (writes of whole slices keep it aligned), the chunk's lagging a little.
    pub fn write<E>(
        &mut self,
        data: Bytes,
        on_chunk: &mut impl FnMut(B3Digest, std::vec::Drain<'_, Bytes>) -> Result<(), E>,
    ) -> Result<(), E> {
        assert!(!self.shared_mode, "a blob is written shared or not");
        let mut hasher = std::mem::take(&mut self.hasher);
        let r = self.cut(
            data,
            &mut |_, slice| {
                hasher.update(slice);
            },
            on_chunk,
        );
        self.hasher = hasher;
        r
    }

    /// Adds the next piece of the blob, hashing for the blob's digest the
    /// units of it that no other thread has claimed. A blob written this way
    /// is written only this way, from its start.
    pub fn write_shared<E>(
        &mut self,
        piece: Arc<SharedPiece>,
        on_chunk: &mut impl FnMut(B3Digest, std::vec::Drain<'_, Bytes>) -> Result<(), E>,
    ) -> Result<(), E> {
        assert!(
            self.shared_mode || self.size == 0,
            "a blob is written shared or not"
        );
        assert_eq!(piece.offset(), self.size, "pieces in order");
        self.shared_mode = true;
        let data = piece.data().clone();
        self.shared.push_back(piece.clone());
        let r = self.cut(data, &mut |i, _| piece.hash_unit_if_free(i), on_chunk);
        // Join the pieces before this one: all their units are claimed, so at
        // most one is still being hashed elsewhere. Joining them now lets their
        // buffers be reused.
        while self.shared.len() > 1 && self.chunks > 0 {
            let p = self.shared.pop_front().expect("not empty");
            self.tree.add(&p);
        }
        r
    }

    /// Cuts `data` into chunks and hashes them; `blob(i, slice)` is called for
    /// the `i`th slice of `SLICE` bytes of `data` before the chunk hash sees it.
    fn cut<E>(
        &mut self,
        data: Bytes,
        blob: &mut dyn FnMut(usize, &[u8]),
        on_chunk: &mut impl FnMut(B3Digest, std::vec::Drain<'_, Bytes>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.size += data.len() as u64;
        // `data[..chunk_start]` belongs to ended chunks, `data[..hashed]` is in
        // the chunk hasher.
        let mut chunk_start = 0;
        let mut hashed = 0;
        let mut at = 0;
        while at < data.len() {
            let end = (at + SLICE).min(data.len());
            blob(at / SLICE, &data[at..end]);
            let mut from = at;
            while let Some(n) = self.chunker.next_cut(&data[from..end]) {
                let cut = from + n;
                self.hash_chunk(&data[hashed..cut]);
                hashed = cut;
                self.held.push(data.slice(chunk_start..cut));
                chunk_start = cut;
                self.end_chunk(None, on_chunk)?;
                from = cut;
            }
            // Up to the last slice boundary of the chunk.
            let ahead = (self.chunk_hashed + (end - hashed)) % SLICE;
            let upto = end - ahead.min(end - hashed);
            self.hash_chunk(&data[hashed..upto]);
            hashed = upto;
            at = end;
        }
        self.hash_chunk(&data[hashed..]);
        if chunk_start < data.len() {
            self.held.push(data.slice(chunk_start..));
        }
        Ok(())
    }

    fn hash_chunk(&mut self, bytes: &[u8]) {
        self.chunk_hashed += bytes.len();
        if let Some(h) = &mut self.chunk_hasher {
            h.update(bytes);
        }
    }

    /// Ends the current chunk; `known` is its digest when that is the blob's.
    fn end_chunk<E>(
        &mut self,
        known: Option<B3Digest>,
        on_chunk: &mut impl FnMut(B3Digest, std::vec::Drain<'_, Bytes>) -> Result<(), E>,
    ) -> Result<(), E> {
        let digest = match (known, self.chunk_hasher.take()) {
            (Some(d), _) => d,
            (None, Some(h)) => B3Digest::from(h.finalize()),
            // The first chunk starts the blob, so its whole units are the
            // blob's.
            (None, None) => prefix_digest(self.shared.iter().map(|p| &**p), self.chunk_hashed)
                .unwrap_or_else(|| self.held_digest()),
        };
        self.chunk_hasher = Some(blake3::Hasher::new());
        self.chunk_hashed = 0;
        self.chunks += 1;
        on_chunk(digest, self.held.drain(..))
    }

    /// The digest of the bytes of the current chunk.
    fn held_digest(&self) -> B3Digest {
        let mut h = blake3::Hasher::new();
        for p in &self.held {
            h.update(p);
        }
        B3Digest::from(h.finalize())
    }

    /// Ends the blob, passing its last chunk to `on_chunk`; returns the blob's
    /// digest and size.
    pub fn finish<E>(
        mut self,
        on_chunk: &mut impl FnMut(B3Digest, std::vec::Drain<'_, Bytes>) -> Result<(), E>,
    ) -> Result<(B3Digest, u64), E> {
        let digest = if self.shared_mode {
            for p in std::mem::take(&mut self.shared) {
                self.tree.add(&p);
            }
            // A blob of one unit: its digest is the root hash of the unit, whose
            // bytes are all still held (the first chunk is longer than a unit).
            std::mem::take(&mut self.tree)
                .finish()
                .unwrap_or_else(|| self.held_digest())
        } else {
            B3Digest::from(self.hasher.finalize())
        };
        if !self.held.is_empty() {
            // A blob of one chunk has the chunk's digest, already known.
            let known = (self.chunks == 0).then_some(digest);
            self.end_chunk(known, on_chunk)?;
        }
        Ok((digest, self.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::shared::PIECE_UNITS;
    use crate::blob::MAX_CHUNK;
    use crate::test_data::random_bytes;

    type Cut = (B3Digest, Vec<(B3Digest, Vec<u8>)>);

    /// The blob's digest and its chunks, writing `data` in pieces of `piece`.
    fn cut(data: &[u8], piece: usize) -> Cut {
        let mut c = BlobCutter::default();
        let mut chunks = Vec::new();
        let mut on = |d, pieces: std::vec::Drain<'_, Bytes>| -> Result<(), ()> {
            chunks.push((d, pieces.flat_map(|p| p.to_vec()).collect()));
            Ok(())
        };
        for p in data.chunks(piece) {
            c.write(Bytes::copy_from_slice(p), &mut on).unwrap();
        }
        let (digest, size) = c.finish(&mut on).unwrap();
        assert_eq!(size, data.len() as u64);
        (digest, chunks)
    }

    #[test]
    fn digests_and_cuts_do_not_depend_on_write_sizes() {
        let data = random_bytes(6 * MAX_CHUNK + 12345, 7);
        let whole = cut(&data, data.len());
        assert_eq!(whole.0, B3Digest::of(&data));
        assert!(whole.1.len() > 3, "only {} chunks", whole.1.len());
        for (d, bytes) in &whole.1 {
            assert_eq!(*d, B3Digest::of(bytes));
        }
        let joined: Vec<u8> = whole.1.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(joined, data);
        for piece in [1 << 20, SLICE, SLICE + 1, 100_003, 4097] {
            assert!(cut(&data, piece) == whole, "pieces of {piece}");
        }
    }

    /// [`cut`] through shared pieces of `piece` bytes: `helped(k)` says
    /// whether a helper hashes the `k`th piece before the cutter sees it (all
    /// its units then come from the helper); `threaded` also hands every piece
    /// to a helper thread, which races the cutter for the units.
    fn cut_shared(data: &[u8], piece: usize, helped: fn(usize) -> bool, threaded: bool) -> Cut {
        let mut c = BlobCutter::default();
        let mut chunks = Vec::new();
        let mut on = |d, pieces: std::vec::Drain<'_, Bytes>| -> Result<(), ()> {
            chunks.push((d, pieces.flat_map(|p| p.to_vec()).collect()));
            Ok(())
        };
        let (tx, rx) = std::sync::mpsc::channel::<Arc<SharedPiece>>();
        let helper = std::thread::spawn(move || {
            let mut seen = 0;
            for p in rx {
                p.help(|b| seen += b.len());
            }
            seen
        });
        for (k, p) in data.chunks(piece).enumerate() {
            let p = Arc::new(SharedPiece::new(
                Bytes::copy_from_slice(p),
                (k * piece) as u64,
            ));
            if helped(k) {
                p.help(|_| ());
            }
            if threaded {
                tx.send(p.clone()).unwrap();
            }
            c.write_shared(p, &mut on).unwrap();
        }
        drop(tx);
        let seen = helper.join().unwrap();
        assert_eq!(seen, if threaded { data.len() } else { 0 });
        let (digest, size) = c.finish(&mut on).unwrap();
        assert_eq!(size, data.len() as u64);
        (digest, chunks)
    }

    #[test]
    fn shared_pieces_give_the_same_digests_and_cuts() {
        let piece = PIECE_UNITS * UNIT;
        for len in [2 * MAX_CHUNK + 12345, 2 * piece, UNIT + 1, UNIT, 1000] {
            let data = random_bytes(len, len as u64);
            let plain = cut(&data, data.len());
            assert_eq!(plain.0, B3Digest::of(&data));
            for p in [piece, 3 * UNIT] {
                for helped in [|_| false, |_| true, |k| k % 2 == 1] as [fn(usize) -> bool; 3] {
                    assert!(
                        cut_shared(&data, p, helped, false) == plain,
                        "{len} bytes in pieces of {p}"
                    );
                }
                assert!(
                    cut_shared(&data, p, |_| false, true) == plain,
                    "{len} bytes in pieces of {p}, helper thread"
                );
            }
        }
    }

    /// Blobs ending at, just before and just after their first cut, and a
    /// unit after it: the first chunk's digest, joined from units, is its
    /// digest whether it ends inside a unit, at a unit's end or at the blob's.
    #[test]
    fn first_chunk_digest_from_units_around_its_end() {
        let data = random_bytes(MAX_CHUNK + 3 * UNIT, 5);
        let first = cut(&data, data.len()).1[0].1.len();
        assert!(first < MAX_CHUNK, "no content-defined cut in the test data");
        let piece = PIECE_UNITS * UNIT;
        for len in [first - 1, first, first + 1, first + UNIT] {
            let data = &data[..len];
            let plain = cut(data, data.len());
            assert_eq!(plain.0, B3Digest::of(data));
            assert_eq!(plain.1[0].0, B3Digest::of(&data[..first.min(len)]));
            for p in [piece, 3 * UNIT, UNIT] {
                assert!(
                    cut_shared(data, p, |_| false, false) == plain,
                    "{len} in {p}"
                );
                assert!(
                    cut_shared(data, p, |k| k % 2 == 0, false) == plain,
                    "{len} in {p}"
                );
            }
        }
    }

    #[test]
    fn small_and_empty_blobs_are_one_chunk_or_none() {
        let data = random_bytes(5000, 3);
        let d = B3Digest::of(&data);
        assert_eq!(cut(&data, 999), (d, vec![(d, data)]));
        assert_eq!(cut(&[], 1), (B3Digest::of(b""), vec![]));
    }
}
