//! Content-defined chunking with a gear hash, streaming: the chunker only says
//! where cuts are, so the caller keeps the data wherever it already is (no copy
//! into a window), and cuts depend only on content, never on how the input was
//! split into calls.
//!
//! Past `MIN_CHUNK` bytes a chunk ends after any byte where the gear hash (which
//! depends only on the last 64 bytes) has its top `CUT_BITS` bits zero, and at
//! `MAX_CHUNK` at the latest. The first `MIN_CHUNK - 64` bytes of a chunk are not
//! scanned at all: with the minimum at seven eighths of the average, only about an
//! eighth of the bytes are hashed, which keeps chunking cheap next to BLAKE3.

pub const MIN_CHUNK: usize = 448 * 1024;
/// Expected chunk size: `MIN_CHUNK` plus the mean gap between hash hits.
pub const AVG_CHUNK: usize = MIN_CHUNK + (1 << CUT_BITS);
pub const MAX_CHUNK: usize = 2 * 1024 * 1024;

/// A cut is possible at each byte with probability 2^-CUT_BITS.
const CUT_BITS: u32 = 16;
/// The hash is below this exactly when its top `CUT_BITS` bits are zero. The top
/// bits are the ones that depend on a full 64 bytes of input.
const THRESHOLD: u64 = 1 << (64 - CUT_BITS);
/// Bytes that fully determine the hash (it shifts by one bit per byte).
const WINDOW: usize = 64;

/// One pseudo-random 64-bit value per byte value (splitmix64), fixed forever:
/// changing it would change every chunk boundary.
const GEAR: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut x: u64 = 0x7469_7578_6361_7374; // "tvixcast"
    let mut i = 0;
    while i < 256 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        t[i] = z ^ (z >> 31);
        i += 1;
    }
    t
};

/// Where the current chunk stands: its length so far and the hash of its last
/// bytes.
#[derive(Default, Clone, Debug)]
pub struct Chunker {
    len: usize,
    hash: u64,
}

impl Chunker {
    /// Scans `data`, the next bytes of the blob. `Some(n)` means the current chunk
    /// ends after `data[..n]` and the chunker now stands at the start of the next
    /// chunk (call again with `data[n..]`); `None` means all of `data` belongs to
    /// the current chunk.
    pub fn next_cut(&mut self, data: &[u8]) -> Option<usize> {
        let mut i = 0;
        // Skip what cannot hold a cut, except the last WINDOW bytes before the
        // minimum, which warm the hash up so it is the same as a rolling one.
        let warm_from = MIN_CHUNK - WINDOW;
        if self.len < warm_from {
            let skip = (warm_from - self.len).min(data.len());
            self.len += skip;
            i = skip;
        }
        let mut h = self.hash;
        if self.len < MIN_CHUNK {
            let warm = (MIN_CHUNK - self.len).min(data.len() - i);
            for &b in &data[i..i + warm] {
                h = (h << 1).wrapping_add(GEAR[b as usize]);
            }
            self.len += warm;
            i += warm;
        }
        let end = data.len().min(i + (MAX_CHUNK - self.len));
        match scan(&data[..end], i, h) {
            Ok(cut) => {
                *self = Chunker::default();
                Some(cut)
            }
            Err(h) => {
                self.len += end - i;
                if self.len == MAX_CHUNK {
                    *self = Chunker::default();
                    return Some(end);
                }
                self.hash = h;
                None
            }
        }
    }
}

/// Bytes each lane of [`scan`] covers per block.
const LANE: usize = 2048;
/// Lanes scanned side by side (four: [`scan`] names them).
const LANES: usize = 4;

/// Finds the first position in `data[from..]` where the hash (`h` after
/// `data[..from]`) has a cut: `Ok(length up to and including that byte)`, or
/// `Err(hash at the end)`.
///
/// The hash is a chain of dependent steps, so a plain loop waits on each one. As
/// it depends only on the last [`WINDOW`] bytes, a block can be split into lanes
/// that each start from the bytes just before them and run side by side; a block
/// with a hit anywhere is rescanned in order to find the first one.
fn scan(data: &[u8], from: usize, mut h: u64) -> Result<usize, u64> {
    let mut i = from;
    while data.len() - i >= LANES * LANE {
        let block = &data[i..i + LANES * LANE];
        let warm = |start: usize| {
            data[i + start - WINDOW..i + start]
                .iter()
                .fold(0u64, |a, &b| (a << 1).wrapping_add(GEAR[b as usize]))
        };
        let mut hs = [h, warm(LANE), warm(2 * LANE), warm(3 * LANE)];
        let (l0, rest) = block.split_at(LANE);
        let (l1, rest) = rest.split_at(LANE);
        let (l2, l3) = rest.split_at(LANE);
        // The smallest hash each lane saw: below the threshold means a hit.
        let mut low = [u64::MAX; LANES];
        for (((&a, &b), &c), &d) in l0.iter().zip(l1).zip(l2).zip(l3) {
            for ((hj, lj), byte) in hs.iter_mut().zip(&mut low).zip([a, b, c, d]) {
                *hj = (*hj << 1).wrapping_add(GEAR[byte as usize]);
                *lj = (*lj).min(*hj);
            }
        }
        if low.iter().any(|&l| l < THRESHOLD) {
            return serial(&data[..i + LANES * LANE], i, h);
        }
        h = hs[LANES - 1];
        i += LANES * LANE;
    }
    serial(data, i, h)
}

/// [`scan`], one byte after the other.
fn serial(data: &[u8], from: usize, mut h: u64) -> Result<usize, u64> {
    for (k, &b) in data[from..].iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        if h < THRESHOLD {
            return Ok(from + k + 1);
        }
    }
    Err(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks_of(data: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut c = Chunker::default();
        let mut current = Vec::new();
        for mut p in data.chunks(piece) {
            while let Some(n) = c.next_cut(p) {
                current.extend_from_slice(&p[..n]);
                out.push(std::mem::take(&mut current));
                p = &p[n..];
            }
            current.extend_from_slice(p);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    fn random(n: usize, seed: u64) -> Vec<u8> {
        let mut x: u64 = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn boundaries_independent_of_write_sizes() {
        let data = random(9_000_000, 1);
        let a = chunks_of(&data, 1 << 20);
        let b = chunks_of(&data, 4097);
        let c = chunks_of(&data, data.len());
        let d = chunks_of(&data, 1);
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert!(a.len() > 8, "expected several chunks, got {}", a.len());
        assert_eq!(a.concat(), data);
        assert!(a.iter().all(|c| c.len() <= MAX_CHUNK));
        assert!(a[..a.len() - 1].iter().all(|c| c.len() >= MIN_CHUNK));
    }

    #[test]
    fn lanes_find_the_same_cuts_as_one_byte_at_a_time() {
        let data = random(4 << 20, 3);
        let (mut from, mut cuts) = (0, 0);
        loop {
            let h = 0x1234_5678_9abc_def0;
            let (a, b) = (scan(&data, from, h), serial(&data, from, h));
            assert_eq!(a, b, "from {from}");
            match a {
                Ok(cut) => {
                    cuts += 1;
                    from = cut + 777;
                    if from >= data.len() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        assert!(cuts > 30, "only {cuts} cuts");
    }

    #[test]
    fn sizes_average_near_avg_chunk() {
        let data = random(64 << 20, 5);
        let sizes: Vec<usize> = chunks_of(&data, 1 << 20).iter().map(Vec::len).collect();
        let mean = sizes[..sizes.len() - 1].iter().sum::<usize>() / (sizes.len() - 1);
        assert!(
            mean > AVG_CHUNK * 9 / 10 && mean < AVG_CHUNK * 11 / 10,
            "mean {mean} vs {AVG_CHUNK}"
        );
    }

    #[test]
    fn input_without_hash_hits_is_cut_at_the_maximum() {
        // A constant byte gives a constant hash after 64 bytes; choose one whose
        // hash is never below the threshold.
        let b = (0..=255u8)
            .find(|&b| {
                let h = (0..64).fold(0u64, |h, _| (h << 1).wrapping_add(GEAR[b as usize]));
                h >= THRESHOLD
            })
            .unwrap();
        let data = vec![b; 2 * MAX_CHUNK + 5];
        let sizes: Vec<usize> = chunks_of(&data, 100_000).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![MAX_CHUNK, MAX_CHUNK, 5]);
    }

    #[test]
    fn an_insertion_disturbs_only_nearby_chunks() {
        let data = random(16 << 20, 9);
        let mut edited = data.clone();
        edited.splice(3_000_000..3_000_000, b"inserted".iter().copied());
        let a = chunks_of(&data, 1 << 20);
        let b = chunks_of(&edited, 1 << 20);
        let shared = b.iter().filter(|c| a.contains(c)).count();
        assert!(shared + 4 >= a.len(), "{shared} of {} chunks kept", a.len());
    }
}
