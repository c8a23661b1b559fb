//! The reference count at the head of the evaluator's own blocks (sets and lists),
//! kept by hand so that a handle is one thin pointer.

use std::cell::Cell;

/// Counts one more handle. As `Rc` does, a count that would wrap means memory is
/// corrupt, so the process stops rather than free a block still in use.
#[inline]
pub fn retain(rc: &Cell<usize>) {
    let Some(n) = rc.get().checked_add(1) else {
        std::process::abort()
    };
    rc.set(n);
}

/// Counts one handle fewer; whether it was the last, so the block is to be freed.
#[inline]
pub fn release(rc: &Cell<usize>) -> bool {
    let n = rc.get() - 1;
    rc.set(n);
    n == 0
}
