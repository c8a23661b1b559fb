//! The global allocator: mimalloc, called through its plain entry points.
//!
//! The `mimalloc` crate routes every allocation through `mi_malloc_aligned`, whose
//! generic path costs a few extra branches and a call on each of the evaluator's many
//! small allocations. Rust only needs more than mimalloc's natural alignment in rare
//! cases, which keep the aligned entry points. It is built without transparent huge pages
//! (see the root Cargo.toml).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

pub struct Mimalloc;

/// mimalloc aligns every block to 8 bytes, and blocks of a multiple of 16 bytes to 16
/// (its size classes for such sizes are multiples of 16 and pages start 16-aligned).
#[inline(always)]
fn natural(layout: &Layout) -> bool {
    layout.align() <= 8 || (layout.align() <= 16 && layout.size().is_multiple_of(16))
}

// SAFETY: each call forwards to the mimalloc function with the same contract; the plain
// ones are used only when their alignment guarantee covers the layout.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
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
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
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
