//! Deterministic pseudo-random bytes for tests and benches (this crate's and the store's):
//! reproducible from a seed, fast enough for hundreds of MiB, and varied enough that the
//! chunker finds boundaries in them.

pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}
