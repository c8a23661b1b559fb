//! The global allocator: mimalloc, called through its plain entry points.
//!
//! The `mimalloc` crate routes every allocation through `mi_malloc_aligned`, whose
//! generic path costs a few extra branches and a call on each of the evaluator's many
//! small allocations. Rust only needs more than mimalloc's natural alignment in rare
//! cases, which keep the aligned entry points. It is built without transparent huge pages
//! (see the root Cargo.toml).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;

use libmimalloc_sys as mi;

pub struct Mimalloc;

/// mimalloc aligns every block to 8 bytes, and blocks of a multiple of 16 bytes to 16
/// (its size classes for such sizes are multiples of 16 and pages start 16-aligned).
#[inline(always)]
fn natural(layout: &Layout) -> bool {
    layout.align() <= 8 || (layout.align() <= 16 && layout.size().is_multiple_of(16))
}

/// Small blocks freed are kept per size (8-byte steps up to `SMALL`) and handed out
/// again before mimalloc is asked: the evaluator frees and allocates millions of
/// thunks, sets and lists of a few words, and a pop or push on a list is a fraction of
/// mimalloc's path (finding the block's page on free, refilling a page's free list).
const SMALL: usize = 128;
const CLASSES: usize = SMALL / 8;

/// Most blocks kept per size class and thread (at most ~8.5 MiB in all, far less in
/// practice). What is past it goes back to mimalloc, and so does what a thread kept
/// when it ends (see `GiveBack`).
const KEEP: u32 = 8192;

struct Kept {
    /// Linked through each block's first word.
    head: Cell<*mut u8>,
    /// How many, or past `KEEP` when none may be kept now: `FIRST` before the class
    /// keeps its first block, `GIVEN_BACK` once the thread's blocks went back.
    len: Cell<u32>,
}

const FIRST: u32 = u32::MAX - 1;
const GIVEN_BACK: u32 = u32::MAX;

thread_local! {
    static KEPT: [Kept; CLASSES] = const {
        [const { Kept { head: Cell::new(ptr::null_mut()), len: Cell::new(FIRST) } }; CLASSES]
    };
    static GIVE_BACK: GiveBack = const { GiveBack };
}

/// Frees the blocks a thread kept when it ends (a server's worker threads come and go),
/// and keeps no more after.
struct GiveBack;

impl Drop for GiveBack {
    fn drop(&mut self) {
        KEPT.with(|kept| {
            for k in kept {
                let mut p = k.head.replace(ptr::null_mut());
                k.len.set(GIVEN_BACK);
                while !p.is_null() {
                    // SAFETY: a kept block holds the next one's address in its first
                    // word, and is a mimalloc block no one holds.
                    unsafe {
                        let next = p.cast::<*mut u8>().read();
                        mi::mi_free(p as *mut c_void);
                        p = next;
                    }
                }
            }
        });
    }
}

/// Whether a class that keeps `KEEP` or more blocks by its count may keep one more: only
/// before its first, which registers `GiveBack` for the thread's end.
#[cold]
fn may_start(k: &Kept) -> bool {
    if k.len.get() != FIRST {
        return false;
    }
    // Counted first: registering may allocate (and free) on some platforms, and those
    // calls then find the class started rather than start it again.
    k.len.set(0);
    GIVE_BACK.with(|_| {});
    true
}

/// The size class of a block kept for reuse: sizes `8c - 7 ..= 8c` share class
/// `c - 1`. A block freed with such a size has at least `8c` bytes (mimalloc's sizes
/// are whole words), so it serves any request of the class; only layouts of at most
/// mimalloc's plain alignment take part (a block shrunk in place by `realloc` may sit
/// in a larger size class of mimalloc's whose blocks are not 16-aligned).
#[inline(always)]
fn class(layout: &Layout) -> Option<usize> {
    let c = layout.size().wrapping_sub(1) >> 3;
    (c < CLASSES && layout.align() <= 8).then_some(c)
}

// SAFETY: each call forwards to the mimalloc function with the same contract; the plain
// ones are used only when their alignment guarantee covers the layout. A kept block is
// a mimalloc block no one holds, of a size and alignment that serve the layout (`class`).
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(c) = class(&layout) {
            let kept = KEPT.with(|k| {
                let k = &k[c];
                let head = k.head.get();
                if !head.is_null() {
                    // SAFETY: a kept block holds the next one's address in its first word.
                    k.head.set(unsafe { head.cast::<*mut u8>().read() });
                    k.len.set(k.len.get() - 1);
                }
                head
            });
            if !kept.is_null() {
                return kept;
            }
        }
        if natural(&layout) {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if natural(&layout) {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(c) = class(&layout) {
            let kept = KEPT.with(|k| {
                let k = &k[c];
                if k.len.get() >= KEEP && !may_start(k) {
                    return false;
                }
                // SAFETY: the block is at least a word and no one else holds it.
                unsafe { ptr.cast::<*mut u8>().write(k.head.get()) };
                k.head.set(ptr);
                k.len.set(k.len.get() + 1);
                true
            });
            if kept {
                return;
            }
        }
        mi::mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= 8 {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_blocks_come_back_to_their_class_only() {
        let a = Mimalloc;
        let l24 = Layout::from_size_align(24, 8).unwrap();
        let l17 = Layout::from_size_align(17, 1).unwrap();
        let l32 = Layout::from_size_align(32, 8).unwrap();
        // SAFETY: non-zero layouts, each block freed once with the layout it was
        // allocated (or reallocated) with.
        unsafe {
            let p = a.alloc(l24);
            p.write_bytes(0xaa, 24);
            a.dealloc(p, l24);
            // 17 to 24 bytes share the class: the block comes back, whole.
            let q = a.alloc(l17);
            assert_eq!(q, p);
            q.write_bytes(0xbb, 24);
            // Another class does not get it.
            a.dealloc(q, l17);
            let r = a.alloc(l32);
            assert_ne!(r, p);
            // A kept block is still mimalloc's: it reallocates.
            let s = a.alloc(l24);
            assert_eq!(s, p);
            let t = a.realloc(s, l24, 4000);
            assert!(!t.is_null());
            a.dealloc(t, Layout::from_size_align(4000, 8).unwrap());
            a.dealloc(r, l32);
        }
    }

    #[test]
    fn a_thread_gives_back_what_it_kept_when_it_ends() {
        let l = Layout::from_size_align(40, 8).unwrap();
        std::thread::spawn(move || {
            // SAFETY: a non-zero layout, freed once with it.
            unsafe { Mimalloc.dealloc(Mimalloc.alloc(l), l) };
            assert_eq!(KEPT.with(|k| k[4].len.get()), 1);
        })
        .join()
        .unwrap();
        // What runs after the give-back (other threads' destructors) keeps nothing.
        let t = std::thread::spawn(move || {
            let kept = GiveBack;
            drop(kept);
            // SAFETY: as above.
            unsafe { Mimalloc.dealloc(Mimalloc.alloc(l), l) };
            KEPT.with(|k| k[4].head.get().is_null())
        });
        assert!(t.join().unwrap());
    }

    #[test]
    fn blocks_meet_their_alignment() {
        let a = Mimalloc;
        for size in [
            1usize,
            8,
            16,
            24,
            32,
            48,
            64,
            80,
            96,
            112,
            160,
            4096,
            1 << 20,
        ] {
            for align in [1usize, 8, 16, 32, 4096] {
                let Ok(layout) = Layout::from_size_align(size.max(align), align) else {
                    continue;
                };
                let mut held = Vec::new();
                for _ in 0..64 {
                    // SAFETY: a non-zero layout; freed below with the same layout.
                    let p = unsafe { a.alloc(layout) };
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    held.push(p);
                }
                for p in held {
                    // SAFETY: allocated above with `layout`.
                    unsafe { a.dealloc(p, layout) };
                }
            }
        }
    }
}
