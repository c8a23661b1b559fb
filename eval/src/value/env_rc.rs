//! `EnvRc`: a shared environment, as `Rc<Env>` but in a block of 64 bytes: a count of
//! handles and the environment, no weak count. The VM reuses the environments of calls
//! it alone still holds (see `Vm::recycle_env`); the others (captured by a thunk or
//! closure that outlives the call, a third of them on module-heavy code) die later,
//! through their last handle, and their blocks go back to the allocator (whose small
//! blocks the `tvix` command keeps per size for the next: see its `alloc` module).

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ops::Deref;
use std::ptr::{self, NonNull};

use super::Env;

/// The block: a count of handles, and the environment. No weak count, as nothing
/// holds an environment weakly.
struct EnvBox {
    count: Cell<usize>,
    env: Env,
}

pub struct EnvRc(NonNull<EnvBox>);

// One of mimalloc's size classes and one cache line (debug builds add a borrow flag).
#[cfg(not(debug_assertions))]
const _: () = assert!(std::mem::size_of::<EnvBox>() == 64);

impl EnvRc {
    #[inline]
    pub fn new(env: Env) -> EnvRc {
        let layout = Layout::new::<EnvBox>();
        // SAFETY: the layout is not zero-sized.
        let p = unsafe { alloc(layout) }.cast::<EnvBox>();
        if p.is_null() {
            handle_alloc_error(layout)
        }
        // SAFETY: `p` is a block of `EnvBox`'s layout that nothing else uses.
        unsafe {
            p.write(EnvBox {
                count: Cell::new(1),
                env,
            });
            EnvRc(NonNull::new_unchecked(p))
        }
    }

    #[inline(always)]
    fn count(&self) -> &Cell<usize> {
        // SAFETY: the block lives while a handle does.
        unsafe { &self.0.as_ref().count }
    }

    /// The environment, when this is its only handle.
    #[inline(always)]
    pub fn get_mut(this: &mut EnvRc) -> Option<&mut Env> {
        if this.count().get() == 1 {
            // SAFETY: no other handle exists, and `this` is borrowed exclusively.
            Some(unsafe { &mut this.0.as_mut().env })
        } else {
            None
        }
    }

    #[inline(always)]
    pub fn strong_count(this: &EnvRc) -> usize {
        this.count().get()
    }

    #[inline(always)]
    pub fn ptr_eq(a: &EnvRc, b: &EnvRc) -> bool {
        a.0 == b.0
    }

    /// The environment `depth` scopes up.
    #[inline]
    pub fn ancestor(&self, depth: u32) -> &EnvRc {
        let mut e = self;
        for _ in 0..depth {
            e = e
                .parent
                .as_ref()
                .expect("compiler resolved a scope that does not exist");
        }
        e
    }

    /// The last handle is gone: drop the environment and keep or free its block.
    #[inline(never)]
    unsafe fn free(&mut self) {
        let p = self.0.as_ptr();
        // What the environment holds may free further environments (its parent):
        // they are on the list before this one, which is looked at afresh after.
        ptr::drop_in_place(&mut (*p).env);
        dealloc(p.cast(), Layout::new::<EnvBox>());
    }
}

impl Deref for EnvRc {
    type Target = Env;
    #[inline(always)]
    fn deref(&self) -> &Env {
        // SAFETY: the block lives while a handle does.
        unsafe { &self.0.as_ref().env }
    }
}

impl Clone for EnvRc {
    #[inline(always)]
    fn clone(&self) -> EnvRc {
        let c = self.count().get().wrapping_add(1);
        self.count().set(c);
        // As `Rc`: handles leaked (`mem::forget`) in a loop must not wrap the count.
        if c == 0 {
            std::process::abort();
        }
        EnvRc(self.0)
    }
}

impl Drop for EnvRc {
    #[inline(always)]
    fn drop(&mut self) {
        let c = self.count().get() - 1;
        self.count().set(c);
        if c == 0 {
            // SAFETY: that was the last handle.
            unsafe { self.free() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_kept() {
        let a = Env::new(2, None);
        let b = Env::new(1, Some(a.clone()));
        assert_eq!(EnvRc::strong_count(&a), 2);
        assert!(EnvRc::ptr_eq(b.ancestor(1), &a));
        drop(a);
        assert!(EnvRc::strong_count(b.ancestor(1)) == 1);
        drop(b);
        let c = Env::new(0, None);
        let mut c2 = c.clone();
        assert!(EnvRc::get_mut(&mut c2).is_none());
        drop(c);
        assert!(EnvRc::get_mut(&mut c2).is_some());
    }
}
