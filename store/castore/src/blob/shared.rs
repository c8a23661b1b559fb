//! Sharing the blob's BLAKE3 with a thread that reads the same bytes anyway (the
//! NAR hash's): a piece of a blob is hashed in units, each a BLAKE3 subtree at
//! its offset in the blob, by whichever thread claims it first. The cutter
//! claims units as it reaches them; a helper that is ahead of it claims those
//! it reaches first. So the work balances itself: the faster thread takes more.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use blake3::hazmat::{
    merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};
use bytes::Bytes;

use crate::B3Digest;

/// Bytes per unit: a power of two (so units are whole BLAKE3 subtrees) large
/// enough for BLAKE3's wide SIMD paths, small enough to stay in the first-level
/// cache while the claiming thread's other work reads it too.
pub const UNIT: usize = 32 * 1024;

/// Units in one piece at most: one bit each in the claim mask.
pub const PIECE_UNITS: usize = 64;

/// A piece of a blob (at most [`PIECE_UNITS`] units, starting at a unit
/// boundary of the blob), with the chaining values of its units as they are
/// computed.
pub struct SharedPiece {
    data: Bytes,
    offset: u64,
    claimed: AtomicU64,
    cvs: [OnceLock<ChainingValue>; PIECE_UNITS],
}

impl SharedPiece {
    /// `data` is the blob's bytes from `offset`, a multiple of [`UNIT`]; all its
    /// units are whole but the last one of the blob.
    pub fn new(data: Bytes, offset: u64) -> SharedPiece {
        assert!(data.len() <= PIECE_UNITS * UNIT, "piece too large");
        assert!(offset.is_multiple_of(UNIT as u64), "piece not at a unit");
        SharedPiece {
            data,
            offset,
            claimed: AtomicU64::new(0),
            cvs: [const { OnceLock::new() }; PIECE_UNITS],
        }
    }

    pub fn data(&self) -> &Bytes {
        &self.data
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn units(&self) -> usize {
        self.data.len().div_ceil(UNIT)
    }

    pub fn unit(&self, i: usize) -> &[u8] {
        &self.data[i * UNIT..((i + 1) * UNIT).min(self.data.len())]
    }

    /// Hashes unit `i` unless another thread claimed it first.
    pub fn hash_unit_if_free(&self, i: usize) {
        let bit = 1u64 << i;
        if self.claimed.fetch_or(bit, Ordering::AcqRel) & bit == 0 {
            let cv = blake3::Hasher::new()
                .set_input_offset(self.offset + (i * UNIT) as u64)
                .update(self.unit(i))
                .finalize_non_root();
            // Only the claimant sets it.
            let _ = self.cvs[i].set(cv);
        }
    }

    /// The helper's side: feeds the piece to `f` unit by unit, hashing each unit
    /// nobody has claimed yet just before (while it is in cache).
    pub fn help(&self, mut f: impl FnMut(&[u8])) {
        for i in 0..self.units() {
            self.hash_unit_if_free(i);
            f(self.unit(i));
        }
    }

    /// The chaining value of unit `i`, once the thread that claimed it is done.
    pub fn cv(&self, i: usize) -> ChainingValue {
        self.hash_unit_if_free(i);
        *self.cvs[i].wait()
    }
}

/// The BLAKE3 digest of the first `len` bytes of the blob whose pieces, from
/// its start, are `pieces`, from the chaining values of the units those bytes
/// cover (waiting for units another thread is hashing; units not claimed yet
/// are hashed here): only the bytes past the last whole unit are hashed again.
/// `None` unless `len` is over a unit and the pieces hold that many bytes.
pub fn prefix_digest<'a>(
    pieces: impl IntoIterator<Item = &'a SharedPiece>,
    len: usize,
) -> Option<B3Digest> {
    if len <= UNIT {
        return None;
    }
    let mut tree = UnitTree::default();
    let mut at = 0;
    for p in pieces {
        for i in 0..p.units() {
            let unit = p.unit(i);
            if at + unit.len() <= len {
                tree.push(p.cv(i));
                at += unit.len();
            } else {
                tree.push(
                    blake3::Hasher::new()
                        .set_input_offset(at as u64)
                        .update(&unit[..len - at])
                        .finalize_non_root(),
                );
                at = len;
            }
            if at == len {
                return tree.finish();
            }
        }
    }
    None
}

/// Joins the chaining values of a blob's units, left to right, into the
/// blob's digest, as BLAKE3's own hasher joins those of its 1 KiB chunks.
#[derive(Default)]
pub struct UnitTree {
    /// Roots of the complete subtrees so far, largest first.
    stack: Vec<ChainingValue>,
    /// Units joined into `stack`.
    units: u64,
    /// The latest unit, held back until another follows: only then is it
    /// known not to be the last, whose parents include the root.
    last: Option<ChainingValue>,
}

impl UnitTree {
    /// Adds the chaining values of all units of `piece`, the next of the blob,
    /// waiting for those another thread is computing.
    pub fn add(&mut self, piece: &SharedPiece) {
        for i in 0..piece.units() {
            self.push(piece.cv(i));
        }
    }

    /// Adds the chaining value of the next unit; the last one pushed may be
    /// shorter than a unit (a subtree of its own, as it starts at a unit).
    fn push(&mut self, cv: ChainingValue) {
        if let Some(mut left_done) = self.last.replace(cv) {
            self.units += 1;
            // Each trailing zero of the count completes one more subtree.
            let mut n = self.units;
            while n & 1 == 0 {
                let left = self.stack.pop().expect("a subtree per set bit");
                left_done = merge_subtrees_non_root(&left, &left_done, Mode::Hash);
                n >>= 1;
            }
            self.stack.push(left_done);
        }
    }

    /// The blob's digest, if it has more than one unit (a single unit is the
    /// root itself, which a chaining value is not).
    pub fn finish(mut self) -> Option<B3Digest> {
        let mut right = self.last?;
        loop {
            let left = self.stack.pop()?;
            if self.stack.is_empty() {
                return Some(B3Digest::from(merge_subtrees_root(
                    &left,
                    &right,
                    Mode::Hash,
                )));
            }
            right = merge_subtrees_non_root(&left, &right, Mode::Hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_data::random_bytes;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A prefix's digest from the units is the digest of its bytes, for
        /// lengths at, just off and between unit boundaries, whoever hashed
        /// the units.
        #[test]
        fn prefix_digest_is_the_digest_of_the_prefix(
            units in 1usize..40,
            extra in 0usize..UNIT,
            piece_units in 1usize..9,
            cut_unit in 0usize..40,
            off in prop_oneof![Just(0isize), Just(-1), Just(1), -(UNIT as isize)..UNIT as isize],
            helped in any::<u64>(),
            seed in any::<u64>(),
        ) {
            let data = random_bytes(units * UNIT + extra, seed);
            let pieces: Vec<SharedPiece> = data
                .chunks(piece_units * UNIT)
                .enumerate()
                .map(|(k, p)| {
                    SharedPiece::new(Bytes::copy_from_slice(p), (k * piece_units * UNIT) as u64)
                })
                .collect();
            for (k, p) in pieces.iter().enumerate() {
                if helped >> (k % 64) & 1 == 1 {
                    p.help(|_| ());
                }
            }
            let len = ((cut_unit.min(units) * UNIT) as isize + off).clamp(0, data.len() as isize);
            let len = len as usize;
            let got = prefix_digest(&pieces, len);
            if len <= UNIT {
                prop_assert_eq!(got, None);
            } else {
                prop_assert_eq!(got, Some(B3Digest::of(&data[..len])));
            }
            prop_assert_eq!(prefix_digest(&pieces, data.len() + 1), None);
        }
    }
}
