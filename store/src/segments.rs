//! Reading files into shared buffers that are handed to several threads at once
//! (the NAR hash and the blob store) without copying, and reused once every
//! thread is done with them, so large files do not fault in fresh pages (and
//! where they must, as for a memory store that keeps them, they fault in huge
//! pages).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::ptr::NonNull;
use std::sync::Arc;

use tvix_castore::Bytes;

/// Size of the reused buffers, and the most one read hands out: one huge page.
pub const SEGMENT: usize = HUGE_PAGE;

const HUGE_PAGE: usize = 2 << 20;
const PAGE: usize = 4096;

/// How many handed-out buffers are remembered for reuse.
const REMEMBERED: usize = 32;

#[derive(Default)]
pub struct SegmentPool {
    /// Buffers handed out, oldest first; one is reused once nobody else holds it.
    issued: VecDeque<Arc<Buffer>>,
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
            .is_some_and(|b| Arc::strong_count(b) == 1 && b.len < n)
        {
            // Free but too small for this read: let it go.
            self.issued.pop_front();
        }
        let mut buf = match self.issued.front() {
            Some(b) if Arc::strong_count(b) == 1 && b.len >= n => {
                self.issued.pop_front().expect("front exists")
            }
            // A fresh buffer only as large as this read: a store that keeps the
            // buffers (the memory store) then keeps no unused tail.
            _ => Arc::new(Buffer::new(n)?),
        };
        let got = {
            let b = Arc::get_mut(&mut buf).expect("held by the pool alone");
            read_full(file, &mut b.as_mut_slice()[..n])?
        };
        let seg = Bytes::from_owner(Segment(buf.clone(), got));
        self.issued.push_back(buf);
        if self.issued.len() > REMEMBERED {
            self.issued.pop_front();
        }
        Ok(seg)
    }
}

/// Memory mapped for a buffer: whole pages, zeroed by the kernel, and on huge
/// pages where the size allows (a fresh page costs a fault and clearing it; a
/// huge page costs one fault for 512 pages, which halves the cost of reading a
/// large file into memory that a memory store keeps).
struct Buffer {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a plain owned allocation; shared access only reads it.
unsafe impl Send for Buffer {}
unsafe impl Sync for Buffer {}

impl Buffer {
    fn new(len: usize) -> io::Result<Buffer> {
        let len = len.next_multiple_of(PAGE);
        let huge = len.is_multiple_of(HUGE_PAGE);
        // Room to align the start to a huge page, unmapped again below.
        let extra = if huge { HUGE_PAGE } else { 0 };
        // SAFETY: a fresh private anonymous mapping; only this function and
        // `drop` unmap parts of it, and never the part kept.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len + extra,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let addr = p as usize;
            let start = if huge {
                addr.next_multiple_of(HUGE_PAGE)
            } else {
                addr
            };
            if start > addr {
                libc::munmap(p, start - addr);
            }
            let tail = addr + len + extra - (start + len);
            if tail > 0 {
                libc::munmap((start + len) as *mut libc::c_void, tail);
            }
            if huge {
                // Advice only: without huge pages it works as well, more slowly.
                libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
            Ok(Buffer {
                ptr: NonNull::new(start as *mut u8).expect("mmap never maps page 0"),
                len,
            })
        }
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` mapped, initialised (zeroed) bytes, live as long as self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: exactly the range `new` kept mapped.
        unsafe {
            libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.len);
        }
    }
}

/// What a handed-out `Bytes` holds: the buffer and how much of it was read.
struct Segment(Arc<Buffer>, usize);

impl AsRef<[u8]> for Segment {
    fn as_ref(&self) -> &[u8] {
        &self.0.as_slice()[..self.1]
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

    #[test]
    fn reads_between_a_quarter_and_a_whole_segment_use_page_rounded_buffers() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let data: Vec<u8> = (0..700_001u32).map(|i| (i % 253) as u8).collect();
        File::create(&path).unwrap().write_all(&data).unwrap();
        let mut pool = SegmentPool::default();
        let seg = pool
            .read(&mut File::open(&path).unwrap(), data.len())
            .unwrap();
        assert_eq!(&seg[..], &data[..]);
        assert_eq!(pool.issued[0].len, 700_001usize.next_multiple_of(PAGE));
        // Still held: the next read needs another buffer.
        let again = pool
            .read(&mut File::open(&path).unwrap(), data.len())
            .unwrap();
        assert_eq!(again, seg);
        assert_eq!(pool.issued.len(), 2);
    }
}
