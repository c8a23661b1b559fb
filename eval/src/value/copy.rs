//! Moving a few values at a time. A set or list literal moves its handful of values off
//! the stack; a copy of a size known at compile time is a few inline moves, where one
//! of a size known only at run time is a call into `memcpy` and its size dispatch.

use std::ptr;

/// Copy `n` elements from `src` to `dst` (as `ptr::copy_nonoverlapping`), inline for
/// up to eight of them.
///
/// # Safety
/// As `ptr::copy_nonoverlapping(src, dst, n)`.
#[inline(always)]
pub(super) unsafe fn copy_few<T>(src: *const T, dst: *mut T, n: usize) {
    // SAFETY: the caller's promise for `n` holds for each smaller constant count it is
    // matched against.
    unsafe {
        match n {
            0 => {}
            1 => ptr::copy_nonoverlapping(src, dst, 1),
            2 => ptr::copy_nonoverlapping(src, dst, 2),
            3 => ptr::copy_nonoverlapping(src, dst, 3),
            4 => ptr::copy_nonoverlapping(src, dst, 4),
            5 => ptr::copy_nonoverlapping(src, dst, 5),
            6 => ptr::copy_nonoverlapping(src, dst, 6),
            7 => ptr::copy_nonoverlapping(src, dst, 7),
            8 => ptr::copy_nonoverlapping(src, dst, 8),
            _ => ptr::copy_nonoverlapping(src, dst, n),
        }
    }
}
