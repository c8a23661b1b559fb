//! Deterministic pseudo-random bytes for the unit tests: reproducible, and varied
//! enough that the chunker finds boundaries in them.

pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
