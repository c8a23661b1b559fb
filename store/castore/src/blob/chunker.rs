//! Streaming content-defined chunking (FastCDC) over data that arrives in pieces.

use fastcdc::v2020::FastCDC;

// FastCDC does not scan the first MIN_CHUNK bytes of a chunk for a cut point, so a
// minimum of half the average halves the cost of chunking; edits still only
// disturb the chunks around them.
pub const MIN_CHUNK: usize = 256 * 1024;
pub const AVG_CHUNK: usize = 512 * 1024;
pub const MAX_CHUNK: usize = 2 * 1024 * 1024;

/// Buffers incoming bytes and hands out chunks whose boundaries depend only on the
/// content, never on how the input was split into `push` calls.
#[derive(Default)]
pub struct Chunker {
    buf: Vec<u8>,
}

impl Chunker {
    /// Adds data; calls `emit` for every chunk that is now fully determined.
    pub fn push<E>(
        &mut self,
        data: &[u8],
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 4 * MAX_CHUNK {
            self.cut(false, emit)?;
        }
        Ok(())
    }

    /// Emits everything left.
    pub fn finish<E>(mut self, emit: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        self.cut(true, emit)
    }

    fn cut<E>(
        &mut self,
        last: bool,
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut consumed = 0;
        let len = self.buf.len();
        for c in FastCDC::new(
            &self.buf,
            MIN_CHUNK as u32,
            AVG_CHUNK as u32,
            MAX_CHUNK as u32,
        ) {
            // A cut is only final if at least MAX_CHUNK bytes followed its start:
            // otherwise more data could move it.
            if !last && c.offset + MAX_CHUNK > len {
                break;
            }
            emit(&self.buf[c.offset..c.offset + c.length])?;
            consumed = c.offset + c.length;
        }
        self.buf.drain(..consumed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks_of(data: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut c = Chunker::default();
        let mut emit = |b: &[u8]| -> Result<(), ()> {
            out.push(b.to_vec());
            Ok(())
        };
        for p in data.chunks(piece) {
            c.push(p, &mut emit).unwrap();
        }
        c.finish(&mut emit).unwrap();
        out
    }

    #[test]
    fn boundaries_independent_of_write_sizes() {
        let mut x: u64 = 1;
        let data: Vec<u8> = (0..9_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let a = chunks_of(&data, 1 << 20);
        let b = chunks_of(&data, 4097);
        let c = chunks_of(&data, data.len());
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(a.len() > 8, "expected several chunks, got {}", a.len());
        assert_eq!(a.concat(), data);
        assert!(a.iter().all(|c| c.len() <= MAX_CHUNK));
    }
}
