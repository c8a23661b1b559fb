//! `EnvRc`: a shared environment, as `Rc<Env>` but in one block of exactly its size: a
//! count of handles (no weak count: nothing holds an environment weakly), the number of
//! slots, the parent, then the slots themselves. Half a million environments are alive
//! at once on module-heavy code, most of one or two slots: a block sized to its scope
//! (32 bytes for one slot) rather than one size for all, with a second allocation for
//! more than three, keeps the peak and the page faults down, and reading a slot is an
//! index with no look at which kind of slots these are. The VM reuses the environments
//! of calls it alone still holds (see `Vm::recycle_env`); the others die later, through
//! their last handle.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ops::Deref;
use std::ptr::{self, NonNull};

use super::drop::release;
use super::{VCell, Value};

/// One runtime scope: the slots of a `let`, `rec`, lambda or `with`, in the order the
/// compiler assigned them. Their names are not here but with the code that made the
/// environment (see `ScopeChain`). `repr(C)`: the block is laid out by hand (`layout`).
#[repr(C)]
pub struct EnvOf<S: ?Sized> {
    /// The count of handles in the low 32 bits, the number of slots in the high 32: one
    /// word, always read and written whole. (Two 32-bit fields let the compiler read
    /// both at once right after writing the count alone, a store the load cannot be
    /// forwarded from: that stall made calls a quarter slower.)
    word: Cell<u64>,
    pub parent: Option<EnvRc>,
    pub slots: VCell<S>,
}

pub type Env = EnvOf<[Value]>;

/// Every block's sized start, read where the number of slots is not needed.
type Head = EnvOf<[Value; 0]>;

pub struct EnvRc(NonNull<Head>);

/// The block of an environment of `n` slots: its head, then the slots (which start at
/// the head's end, its size being a multiple of `Value`'s alignment).
#[inline(always)]
fn layout(n: usize) -> Layout {
    let size = n
        .checked_mul(std::mem::size_of::<Value>())
        .and_then(|s| s.checked_add(std::mem::size_of::<Head>()));
    match size.map(|s| Layout::from_size_align(s, std::mem::align_of::<Head>())) {
        Some(Ok(l)) => l,
        _ => panic!("an environment of {n} slots"),
    }
}

const _: () = assert!(std::mem::size_of::<Head>().is_multiple_of(std::mem::align_of::<Value>()));
// Release builds: 32 bytes for one slot, one of the allocator's size classes.
#[cfg(not(debug_assertions))]
const _: () = assert!(std::mem::size_of::<Head>() == 16);

impl Env {
    /// An environment of `n` slots holding `null`.
    // An environment only ever exists shared.
    #[allow(clippy::new_ret_no_self)]
    #[inline]
    pub fn new(n: usize, parent: Option<EnvRc>) -> EnvRc {
        let len = u32::try_from(n).expect("a scope of fewer than 2^32 names");
        let layout = layout(n);
        // SAFETY: the layout is not zero-sized.
        let p = unsafe { alloc(layout) }.cast::<Head>();
        if p.is_null() {
            handle_alloc_error(layout)
        }
        // SAFETY: `p` is a fresh block of `layout`: the head, then room for `n` values.
        unsafe {
            p.write(EnvOf {
                word: Cell::new(u64::from(len) << 32 | 1),
                parent,
                slots: VCell::new([]),
            });
            let slots = p.add(1).cast::<Value>();
            for i in 0..n {
                slots.add(i).write(Value::Null);
            }
            EnvRc(NonNull::new_unchecked(p))
        }
    }
}

/// The whole environment at `p`, its slots included.
///
/// # Safety
/// `p` is a live block made by `Env::new`.
#[inline(always)]
unsafe fn whole(p: NonNull<Head>) -> *mut Env {
    let len = ((*p.as_ptr()).word.get() >> 32) as usize;
    // The cast keeps the address and takes `len` as the length of the slots.
    ptr::slice_from_raw_parts_mut(p.as_ptr().cast::<Value>(), len) as *mut Env
}

impl EnvRc {
    #[inline(always)]
    fn word(&self) -> &Cell<u64> {
        // SAFETY: the block lives while a handle does.
        unsafe { &(*self.0.as_ptr()).word }
    }

    #[inline(always)]
    fn count(&self) -> u32 {
        self.word().get() as u32
    }

    /// The environment, when this is its only handle.
    #[inline(always)]
    pub fn get_mut(this: &mut EnvRc) -> Option<&mut Env> {
        if this.count() == 1 {
            // SAFETY: no other handle exists, and `this` is borrowed exclusively.
            Some(unsafe { &mut *whole(this.0) })
        } else {
            None
        }
    }

    #[inline(always)]
    pub fn strong_count(this: &EnvRc) -> usize {
        this.count() as usize
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

    /// The last handle is gone: free the block and what it holds. What it holds may
    /// free further environments (its parent): `release` bounds how deeply.
    ///
    /// # Safety
    /// No other handle to the block exists.
    #[inline(never)]
    unsafe fn free(&mut self) {
        release(Block(self.0));
    }
}

/// A block no handle holds any more, freed when dropped.
struct Block(NonNull<Head>);

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: the last handle gave the block up to this alone.
        unsafe {
            let env = whole(self.0);
            let layout = layout((*env).slots.borrow().len());
            ptr::drop_in_place(env);
            dealloc(self.0.as_ptr().cast(), layout);
        }
    }
}

impl Deref for EnvRc {
    type Target = Env;
    #[inline(always)]
    fn deref(&self) -> &Env {
        // SAFETY: the block lives while a handle does.
        unsafe { &*whole(self.0) }
    }
}

impl Clone for EnvRc {
    #[inline(always)]
    fn clone(&self) -> EnvRc {
        let w = self.word().get() + 1;
        self.word().set(w);
        // As `Rc`: handles leaked (`mem::forget`) in a loop must not wrap the count
        // (into the number of slots, here).
        if w as u32 == 0 {
            std::process::abort();
        }
        EnvRc(self.0)
    }
}

impl Drop for EnvRc {
    #[inline(always)]
    fn drop(&mut self) {
        let w = self.word().get() - 1;
        self.word().set(w);
        if w as u32 == 0 {
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

    #[test]
    fn blocks_are_laid_out_as_the_type_says() {
        for n in 0..6 {
            let e = Env::new(n, None);
            // The size Rust gives the environment is the block's, and its slots start
            // right after the head.
            assert_eq!(std::mem::size_of_val(&*e), layout(n).size());
            let slots = e.slots.borrow();
            assert_eq!(slots.len(), n);
            assert!(slots.iter().all(|v| matches!(v, Value::Null)));
            let head = e.0.as_ptr() as usize;
            if n > 0 {
                assert_eq!(
                    &slots[0] as *const Value as usize - head,
                    std::mem::size_of::<Head>()
                );
            }
        }
        let e = Env::new(3, None);
        e.slots.borrow_mut()[2] = Value::Int(7);
        assert!(matches!(e.slots.borrow()[2], Value::Int(7)));
    }
}
