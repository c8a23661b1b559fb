//! `Thunk`: a value not computed yet, shared by every place that holds it.
//!
//! Thunks are the most numerous blocks of all (1.4M live at once on module-heavy
//! code), so each is one 32-byte block, where an `Rc` would take 48 (its two counts
//! and a 32-byte state, in the allocator's size classes of 16 bytes): a 32-bit count
//! of handles (no weak count: nothing holds a thunk weakly), a 32-bit header for
//! applications, and a 24-byte `ThunkState`. The state is 24 bytes because only
//! `Apply` needs all of them: the header holds what would make other states as
//! large (the name of `f name x`, and that an application is being forced).

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use super::cell::{BorrowError, VMut, VRef};
use super::{Closure, Code, EnvRc, NixString, VCell, Value};
use crate::symbol::Symbol;

pub enum ThunkState {
    // First: the other states are told apart by the values its `Value`'s tag cannot
    // take, and with it first they are one range of them, so telling `Apply` from the
    // rest is one compare.
    /// Lazy application `f x` of a lambda (what `map` and friends produce), or
    /// `f name x` when the thunk has a name (`Thunk::app_name`): what `mapAttrs` and
    /// `zipAttrsWith` produce per attribute. One block, where two nested
    /// applications would be two, and forcing it binds both arguments at once.
    /// Still so while being forced (see `Thunk::is_forcing`), so that an error can
    /// put it back.
    Apply(Rc<Closure>, Value),
    /// Code not yet run, with the environment it will run in.
    Suspended {
        proto: Rc<Code>,
        env: EnvRc,
    },
    /// Lazy application `f x` of anything else (a builtin, a functor set, a thunk):
    /// rare, so out of line. Being forced as `Apply`.
    ApplyOther(Box<(Value, Value)>),
    /// Being forced, or torn down; forcing it again is infinite recursion.
    Blackhole,
    /// A `Suspended` thunk being forced, still holding its environment (its code is
    /// its frame's): an error puts it back as it was from this alone, so a force
    /// keeps no record of its own on the side.
    Forcing(EnvRc),
    Evaluated(Value),
}

// `Apply` is the only state that needs 24 bytes: the others fit around the tag of
// its `Value`, which tells the states apart.
const _: () = assert!(std::mem::size_of::<ThunkState>() == 24);

/// The block. `repr(C)`: the two 32-bit words share the first 8 bytes.
#[repr(C)]
pub(super) struct ThunkBox {
    count: Cell<u32>,
    /// For `Apply` and `ApplyOther` (meaningless in the other states): bit 0 set while
    /// being forced; the rest is 0, or the name of `f name x` plus one.
    app: Cell<u32>,
    state: VCell<ThunkState>,
}

const FORCING: u32 = 1;

/// Names of `f name x` kept in the header: those whose number plus one fits in its 31
/// bits, so all in practice (the others are two nested applications).
const MAX_NAME: u32 = u32::MAX >> 1;

pub struct Thunk(NonNull<ThunkBox>);

impl Thunk {
    /// Inlined: `Op::Thunk` makes one per lazy argument or binding, the most common
    /// allocation of all, and a call around the allocator's own would be overhead on each.
    #[inline(always)]
    fn new(app: u32, state: ThunkState) -> Thunk {
        let layout = Layout::new::<ThunkBox>();
        // SAFETY: the layout is not zero-sized.
        let p = unsafe { alloc(layout) }.cast::<ThunkBox>();
        if p.is_null() {
            handle_alloc_error(layout)
        }
        // SAFETY: `p` is a fresh block of `ThunkBox`'s layout.
        unsafe {
            p.write(ThunkBox {
                count: Cell::new(1),
                app: Cell::new(app),
                state: VCell::new(state),
            });
            Thunk(NonNull::new_unchecked(p))
        }
    }

    #[inline(always)]
    pub fn suspended(proto: Rc<Code>, env: EnvRc) -> Thunk {
        Thunk::new(0, ThunkState::Suspended { proto, env })
    }

    pub fn apply(f: Value, x: Value) -> Thunk {
        match f {
            Value::Closure(c) => Thunk::new(0, ThunkState::Apply(c, x)),
            f => Thunk::new(0, ThunkState::ApplyOther(Box::new((f, x)))),
        }
    }

    /// `f name x` (see `ThunkState::Apply`), for any `f`.
    pub fn apply_name(f: &Value, name: Symbol, x: Value) -> Thunk {
        match f {
            Value::Closure(c) if name.0 < MAX_NAME => {
                Thunk::new((name.0 + 1) << 1, ThunkState::Apply(c.clone(), x))
            }
            f => {
                let inner = Thunk::apply(f.clone(), Value::String(NixString::of_symbol(name)));
                Thunk::apply(Value::Thunk(inner), x)
            }
        }
    }

    pub fn evaluated(v: Value) -> Thunk {
        Thunk::new(0, ThunkState::Evaluated(v))
    }

    /// A thunk to be filled in later (or a marker: see `recursive_scopes`).
    pub fn blackhole() -> Thunk {
        Thunk::new(0, ThunkState::Blackhole)
    }

    #[inline(always)]
    fn inner(&self) -> &ThunkBox {
        // SAFETY: the block lives while a handle does.
        unsafe { self.0.as_ref() }
    }

    /// The state, to read (see `VCell` for the rules of its borrows).
    #[inline(always)]
    pub fn borrow(&self) -> VRef<'_, ThunkState> {
        self.inner().state.borrow()
    }

    /// The state, to change. Putting an application in is for `Thunk`'s own
    /// functions: they keep the header right.
    #[inline(always)]
    pub fn borrow_mut(&self) -> VMut<'_, ThunkState> {
        self.inner().state.borrow_mut()
    }

    /// As `borrow`, `Err` when that would overlap a change (told in debug builds only).
    pub fn try_borrow(&self) -> Result<VRef<'_, ThunkState>, BorrowError> {
        self.inner().state.try_borrow()
    }

    pub fn try_borrow_mut(&self) -> Result<VMut<'_, ThunkState>, BorrowError> {
        self.inner().state.try_borrow_mut()
    }

    /// The value if it has been computed.
    #[inline]
    pub fn value(&self) -> Option<Value> {
        match &*self.borrow() {
            ThunkState::Evaluated(v) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn is_evaluated(&self) -> bool {
        matches!(&*self.borrow(), ThunkState::Evaluated(_))
    }

    /// An `Apply` that is neither named nor being forced (the common kind, forced
    /// by a path of its own).
    #[inline(always)]
    pub fn is_plain_apply(&self) -> bool {
        matches!(&*self.borrow(), ThunkState::Apply(..)) && self.inner().app.get() == 0
    }

    /// The name of `f name x`, if this is one.
    #[inline]
    pub fn app_name(&self) -> Option<Symbol> {
        match self.inner().app.get() >> 1 {
            0 => None,
            n => Some(Symbol(n - 1)),
        }
    }

    /// Whether the thunk is being forced: forcing it again is infinite recursion.
    pub fn is_forcing(&self) -> bool {
        match &*self.borrow() {
            ThunkState::Blackhole | ThunkState::Forcing(_) => true,
            ThunkState::Apply(..) | ThunkState::ApplyOther(_) => {
                self.inner().app.get() & FORCING != 0
            }
            ThunkState::Suspended { .. } | ThunkState::Evaluated(_) => false,
        }
    }

    /// Mark an application as being forced.
    #[inline(always)]
    pub fn start_app(&self) {
        let app = &self.inner().app;
        app.set(app.get() | FORCING);
    }

    /// A thunk being forced put back as it was before (`proto`: its frame's code).
    pub fn unforce(&self, proto: Rc<Code>) {
        let mut st = self.borrow_mut();
        match std::mem::replace(&mut *st, ThunkState::Blackhole) {
            ThunkState::Forcing(env) => *st = ThunkState::Suspended { proto, env },
            // An application: only its mark changes.
            s => *st = s,
        }
        let app = &self.inner().app;
        app.set(app.get() & !FORCING);
    }

    #[inline(always)]
    pub fn ptr_eq(a: &Thunk, b: &Thunk) -> bool {
        a.0 == b.0
    }

    /// The block's address: what tells thunks apart (as `ptr_eq`).
    pub fn as_ptr(&self) -> *const () {
        self.0.as_ptr() as *const ()
    }

    #[inline(always)]
    pub fn strong_count(this: &Thunk) -> usize {
        this.inner().count.get() as usize
    }

    /// The last handle is gone: drop the state and free the block.
    #[inline(never)]
    unsafe fn free(&mut self) {
        let p = self.0.as_ptr();
        std::ptr::drop_in_place(p);
        dealloc(p.cast(), Layout::new::<ThunkBox>());
    }
}

/// Ends the process, as `Rc` does when a count would wrap: by a trap instruction where
/// there is one, not a call to `abort`, which would make `Value::clone` (where this is
/// inlined) too large for LLVM to inline it in the VM's loop.
#[inline(always)]
fn count_overflow() -> ! {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    // SAFETY: `ud2` raises an invalid-opcode exception, which ends the process; it
    // touches no memory and does not return.
    unsafe {
        std::arch::asm!("ud2", options(noreturn, nomem, nostack))
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    std::process::abort()
}

impl Clone for Thunk {
    #[inline(always)]
    fn clone(&self) -> Thunk {
        let count = &self.inner().count;
        let c = count.get().wrapping_add(1);
        count.set(c);
        // As `Rc`: handles leaked (`mem::forget`) in a loop must not wrap the count.
        // (Reaching 2^32 otherwise would take 64 GB of values holding this one.)
        if c == 0 {
            count_overflow();
        }
        Thunk(self.0)
    }
}

impl Drop for Thunk {
    #[inline(always)]
    fn drop(&mut self) {
        let count = &self.inner().count;
        let c = count.get() - 1;
        count.set(c);
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
    fn counts_and_forcing_marks() {
        let t = Thunk::apply(Value::Int(1), Value::Int(2));
        assert!(t.app_name().is_none() && !t.is_plain_apply() && !t.is_forcing());
        let t2 = t.clone();
        assert_eq!(Thunk::strong_count(&t), 2);
        assert!(Thunk::ptr_eq(&t, &t2));
        t.start_app();
        assert!(t2.is_forcing());
        t.unforce(crate::vm::trampoline());
        assert!(!t.is_forcing());
        assert!(
            matches!(&*t.borrow(), ThunkState::ApplyOther(fx) if matches!(fx.1, Value::Int(2)))
        );
        drop(t);
        assert_eq!(Thunk::strong_count(&t2), 1);
    }
}
