//! Reading files into shared buffers that are handed to several threads at once
//! (the NAR hash and the blob store) without copying, and reused once every
//! thread is done with them, so large files do not fault in fresh pages.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};

use tvix_castore::{Bytes, BytesMut};

/// Size of the reused buffers, and the most one read hands out.
pub const SEGMENT: usize = 1 << 20;

/// How many handed-out buffers are remembered for reuse.
const REMEMBERED: usize = 64;

#[derive(Default)]
pub struct SegmentPool {
    /// Buffers handed out, oldest first; one is reused once nobody else holds it.
    issued: VecDeque<Bytes>,
}

impl SegmentPool {
    /// Reads up to `n` bytes (at most [`SEGMENT`]) from `file`; fewer only at the
    /// end of the file.
    pub fn read(&mut self, file: &mut File, n: usize) -> io::Result<Bytes> {
        let n = n.min(SEGMENT);
        if n < SEGMENT / 4 {
            // Small files: a buffer of their own size is cheap and wastes nothing.
            let mut v = vec![0; n];
            let got = read_full(file, &mut v)?;
            v.truncate(got);
            return Ok(Bytes::from(v));
        }
        if self
            .issued
            .front()
            .is_some_and(|b| b.is_unique() && b.len() < n)
        {
            // Free but too small for this read: let it go.
            self.issued.pop_front();
        }
        let mut buf = match self.issued.front() {
            Some(b) if b.is_unique() && b.len() >= n => self
                .issued
                .pop_front()
                .and_then(|b| b.try_into_mut().ok())
                .expect("a unique buffer converts back"),
            // A fresh buffer only as large as this read: a store that keeps the
            // buffers (the memory store) then keeps no unused tail.
            _ => BytesMut::zeroed(n),
        };
        let got = read_full(file, &mut buf[..n])?;
        let whole = buf.freeze();
        let seg = whole.slice(..got);
        self.issued.push_back(whole);
        if self.issued.len() > REMEMBERED {
            self.issued.pop_front();
        }
        Ok(seg)
    }
}

/// Fills `buf` unless the file ends first; returns how much was read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_whole_files_and_reuses_buffers() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let data: Vec<u8> = (0..3 * SEGMENT + 5).map(|i| (i % 251) as u8).collect();
        File::create(&path).unwrap().write_all(&data).unwrap();
        let mut pool = SegmentPool::default();
        for _ in 0..3 {
            let mut f = File::open(&path).unwrap();
            let mut out = Vec::new();
            loop {
                let seg = pool.read(&mut f, SEGMENT).unwrap();
                if seg.is_empty() {
                    break;
                }
                out.extend_from_slice(&seg);
            }
            assert_eq!(out, data);
        }
        // Every segment was dropped before the next read, so one buffer served all.
        assert_eq!(pool.issued.len(), 1);
    }
}
