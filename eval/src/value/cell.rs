//! `VCell`: the interior mutability of thunks and environment slots.
//!
//! Every thunk and every environment used to carry a `RefCell` flag, 8 bytes each and a
//! check on every read of a variable. The borrows the evaluator takes are all short and
//! never re-enter the same cell: a read clones a value out, a write stores one. So
//! release builds keep no flag; debug builds (every test run) keep RefCell's checks, so
//! a borrow that did overlap would still panic there instead of going unnoticed.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

/// `repr(C)`, the value last: it may be unsized (an environment's slots, whose block
/// is laid out by hand in `env_rc`).
#[repr(C)]
pub struct VCell<T: ?Sized> {
    /// As in `RefCell`: >0 shared borrows, -1 one exclusive borrow.
    #[cfg(debug_assertions)]
    flag: std::cell::Cell<isize>,
    value: UnsafeCell<T>,
}

impl<T> VCell<T> {
    pub fn new(value: T) -> VCell<T> {
        VCell {
            value: UnsafeCell::new(value),
            #[cfg(debug_assertions)]
            flag: std::cell::Cell::new(0),
        }
    }
}

impl<T: ?Sized> VCell<T> {
    /// Shared access. Must not overlap an exclusive borrow of the same cell (checked
    /// in debug builds).
    #[inline(always)]
    pub fn borrow(&self) -> VRef<'_, T> {
        #[cfg(debug_assertions)]
        {
            let f = self.flag.get();
            assert!(f >= 0, "VCell already mutably borrowed");
            self.flag.set(f + 1);
        }
        VRef {
            // SAFETY: no exclusive borrow is live (the contract above, checked in debug).
            value: unsafe { &*self.value.get() },
            #[cfg(debug_assertions)]
            flag: &self.flag,
        }
    }

    /// Exclusive access. Must not overlap any other borrow of the same cell (checked in
    /// debug builds).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub fn borrow_mut(&self) -> VMut<'_, T> {
        #[cfg(debug_assertions)]
        {
            assert!(self.flag.get() == 0, "VCell already borrowed");
            self.flag.set(-1);
        }
        VMut {
            // SAFETY: no other borrow is live (the contract above, checked in debug).
            value: unsafe { &mut *self.value.get() },
            #[cfg(debug_assertions)]
            flag: &self.flag,
        }
    }

    /// Shared access, or `Err` when an exclusive borrow is live. Only debug builds keep
    /// the flag to tell; release builds rely on the contract above and always succeed.
    #[inline]
    pub fn try_borrow(&self) -> Result<VRef<'_, T>, BorrowError> {
        #[cfg(debug_assertions)]
        if self.flag.get() < 0 {
            return Err(BorrowError);
        }
        Ok(self.borrow())
    }

    /// Exclusive access, or `Err` when any borrow is live (told in debug builds only,
    /// as for `try_borrow`).
    #[inline]
    pub fn try_borrow_mut(&self) -> Result<VMut<'_, T>, BorrowError> {
        #[cfg(debug_assertions)]
        if self.flag.get() != 0 {
            return Err(BorrowError);
        }
        Ok(self.borrow_mut())
    }

    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// A borrow that would overlap a live one.
#[derive(Debug)]
pub struct BorrowError;

pub struct VRef<'a, T: ?Sized> {
    value: &'a T,
    #[cfg(debug_assertions)]
    flag: &'a std::cell::Cell<isize>,
}

pub struct VMut<'a, T: ?Sized> {
    value: &'a mut T,
    #[cfg(debug_assertions)]
    flag: &'a std::cell::Cell<isize>,
}

impl<T: ?Sized> Deref for VRef<'_, T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T: ?Sized> Deref for VMut<'_, T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T: ?Sized> DerefMut for VMut<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

#[cfg(debug_assertions)]
impl<T: ?Sized> Drop for VRef<'_, T> {
    fn drop(&mut self) {
        self.flag.set(self.flag.get() - 1);
    }
}

#[cfg(debug_assertions)]
impl<T: ?Sized> Drop for VMut<'_, T> {
    fn drop(&mut self) {
        self.flag.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::VCell;

    #[test]
    fn reads_and_writes() {
        let c = VCell::new(1);
        *c.borrow_mut() += 1;
        let (a, b) = (c.borrow(), c.borrow());
        assert_eq!(*a + *b, 4);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "already borrowed")]
    fn overlapping_borrows_panic_in_debug_builds() {
        let c = VCell::new(1);
        let _r = c.borrow();
        let _w = c.borrow_mut();
    }
}
