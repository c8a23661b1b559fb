//! Hash and measure a NAR as it is written, without keeping it.

use std::io::{self, Write};

use crate::hash::{HashAlgo, Hasher, NixHash};

/// An `io::Write` sink that computes the sha256 and the length of everything
/// written to it: the `narHash` and `narSize` of a store path. Write a NAR into
/// it with [`super::writer`] (or [`super::dump`]).
#[derive(Clone)]
pub struct NarHasher {
    hasher: Hasher,
    size: u64,
}

impl Default for NarHasher {
    fn default() -> Self {
        NarHasher {
            hasher: Hasher::new(HashAlgo::Sha256),
            size: 0,
        }
    }
}

impl NarHasher {
    pub fn new() -> Self {
        Self::default()
    }

    /// The sha256 and the size of what was written.
    pub fn finish(self) -> (NixHash, u64) {
        (self.hasher.finalize(), self.size)
    }
}

impl Write for NarHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nar::tree::NarTree;

    #[test]
    fn hashes_what_is_written() {
        let t = NarTree::File {
            executable: false,
            contents: b"hello".to_vec(),
        };
        let nar = t.to_nar().unwrap();
        let mut h = NarHasher::new();
        t.write_to(&mut h).unwrap();
        let (hash, size) = h.finish();
        assert_eq!(size, nar.len() as u64);
        assert_eq!(hash, NixHash::digest(HashAlgo::Sha256, &nar));
    }
}
