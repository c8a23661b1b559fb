//! Lists. A list is one reference-counted block: a header (count, length) followed by
//! its elements. One allocation per list instead of two (an `Rc` and the vector it
//! points to), and reading an element follows one pointer instead of two. Lists are
//! never changed once built (`++` copies, as in C++ Nix), so the block is sized exactly.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::mem::{align_of, size_of};
use std::ptr::{self, NonNull};

use super::copy::copy_few;
use super::drop;
use super::Value;

/// The start of a list's block; the elements follow it.
#[repr(C)]
struct Header {
    rc: Cell<usize>,
    len: usize,
}

const BODY: usize = size_of::<Header>();
const _: () = assert!(BODY.is_multiple_of(align_of::<Value>()));
const _: () = assert!(align_of::<Value>() <= align_of::<Header>());

/// The layout of a block of `n` elements; `None` past what can be allocated.
fn layout(n: usize) -> Option<Layout> {
    let size = n.checked_mul(size_of::<Value>())?.checked_add(BODY)?;
    Layout::from_size_align(size, align_of::<Header>()).ok()
}

/// A shared handle to a list's block (cloning counts a reference, as `Rc` does).
pub struct NixList(NonNull<Header>);

impl NixList {
    /// A block with room for `n` elements, none written yet: the caller writes them
    /// and then `finish`es it.
    fn alloc(n: usize) -> NonNull<Header> {
        // A list too long to lay out cannot be allocated either.
        let l = layout(n).unwrap_or_else(|| alloc::handle_alloc_error(Layout::new::<Header>()));
        // SAFETY: the layout is never zero-sized (it holds at least the header).
        let p = unsafe { alloc::alloc(l) } as *mut Header;
        let Some(p) = NonNull::new(p) else {
            alloc::handle_alloc_error(l)
        };
        // SAFETY: freshly allocated, with room and alignment for a header.
        unsafe {
            p.as_ptr().write(Header {
                rc: Cell::new(1),
                len: n,
            })
        };
        p
    }

    #[inline(always)]
    fn elems(p: NonNull<Header>) -> *mut Value {
        // SAFETY: every block is at least a header long.
        unsafe { (p.as_ptr() as *mut u8).add(BODY) as *mut Value }
    }

    /// The list of the values in `v`, moved into a block of their own.
    pub fn from_vec(mut v: Vec<Value>) -> NixList {
        let n = v.len();
        let p = NixList::alloc(n);
        // SAFETY: the block has room for `n` elements; they are moved (copied bit for
        // bit, then the vector forgets them, so they are not dropped twice).
        unsafe {
            ptr::copy_nonoverlapping(v.as_ptr(), NixList::elems(p), n);
            v.set_len(0);
        }
        NixList(p)
    }

    /// The list of just `v`.
    pub fn one(v: Value) -> NixList {
        let p = NixList::alloc(1);
        // SAFETY: the block has room for one element, not yet written.
        unsafe { NixList::elems(p).write(v) };
        NixList(p)
    }

    /// The list of the top `n` values of `stack`, which are moved off it.
    pub fn from_stack_top(stack: &mut Vec<Value>, n: usize) -> NixList {
        let n = n.min(stack.len());
        let start = stack.len() - n;
        let p = NixList::alloc(n);
        // SAFETY: as in `from_vec`: moved bit for bit, then cut off the stack without
        // being dropped.
        unsafe {
            copy_few(stack.as_ptr().add(start), NixList::elems(p), n);
            stack.set_len(start);
        }
        NixList(p)
    }

    /// The length of `parts` joined, or (`Err`) the answer itself when at most one part
    /// has elements: that part, or an empty one.
    fn joined_len(parts: &[NixList]) -> Result<usize, NixList> {
        let mut full = parts.iter().filter(|p| !p.is_empty());
        match (full.next(), full.next()) {
            (Some(one), None) => return Err(one.clone()),
            (None, _) => return Err(parts.first().cloned().unwrap_or_default()),
            _ => {}
        }
        Ok(parts
            .iter()
            .try_fold(0usize, |n, p| n.checked_add(p.len()))
            .unwrap_or_else(|| alloc::handle_alloc_error(Layout::new::<Header>())))
    }

    /// The elements of `parts` in order: the one non-empty part itself when there is
    /// only one (an empty part when there is none), else one block of the exact size.
    pub fn concat(parts: &[NixList]) -> NixList {
        let n = match NixList::joined_len(parts) {
            Ok(n) => n,
            Err(whole) => return whole,
        };
        let p = NixList::alloc(n);
        let elems = NixList::elems(p);
        let mut i = 0;
        for v in parts.iter().flat_map(|l| l.iter()) {
            if i == n {
                break;
            }
            // SAFETY: slot `i < n` is within the block and not yet written.
            unsafe { elems.add(i).write(v.clone()) };
            i += 1;
        }
        // The parts are not changed while this runs, so exactly `n` were written.
        debug_assert_eq!(i, n);
        NixList(p)
    }

    /// `concat` of parts handed over: a part no other handle holds gives up its
    /// elements (moved bit for bit, its block freed without dropping them), so a list
    /// built only to be joined (`concatMap`'s fresh parts) costs no count updates.
    pub fn join(parts: Vec<NixList>) -> NixList {
        let n = match NixList::joined_len(&parts) {
            Ok(n) => n,
            Err(whole) => return whole,
        };
        let p = NixList::alloc(n);
        let elems = NixList::elems(p);
        let mut i = 0;
        for part in parts {
            let m = part.len();
            if !part.is_unique() {
                for v in part.iter() {
                    // SAFETY: the parts' lengths add up to `n` and lists never change,
                    // so slot `i < n` is within the block and not yet written.
                    unsafe { elems.add(i).write(v.clone()) };
                    i += 1;
                }
                continue;
            }
            let q = part.0;
            std::mem::forget(part);
            // SAFETY: as above, slots `i..i + m` are within the block and unwritten;
            // the part's one handle is gone (forgotten, dropping nothing), so its `m`
            // elements move exactly once, and its block is freed with its own layout.
            unsafe {
                ptr::copy_nonoverlapping(NixList::elems(q), elems.add(i), m);
                let l = layout(m).unwrap_or_else(Layout::new::<Header>);
                alloc::dealloc(q.as_ptr() as *mut u8, l);
            }
            i += m;
        }
        debug_assert_eq!(i, n);
        NixList(p)
    }

    /// Whether `a` and `b` are the same block.
    #[inline]
    pub fn ptr_eq(a: &NixList, b: &NixList) -> bool {
        a.0 == b.0
    }

    /// The block's address (an identity for cycle detection).
    #[inline]
    pub fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr() as *const u8
    }

    /// Whether this is the only handle to the block.
    #[inline]
    pub fn is_unique(&self) -> bool {
        self.header().rc.get() == 1
    }

    #[inline(always)]
    fn header(&self) -> &Header {
        // SAFETY: the block lives as long as any handle to it.
        unsafe { self.0.as_ref() }
    }
}

impl FromIterator<Value> for NixList {
    /// Written straight into a block when the iterator knows its length exactly (the
    /// usual case: a map over a list or a set), else collected into a vector first.
    fn from_iter<I: IntoIterator<Item = Value>>(it: I) -> NixList {
        let mut it = it.into_iter();
        let n = match it.size_hint() {
            (lo, Some(hi)) if lo == hi => lo,
            _ => return NixList::from_vec(it.collect()),
        };
        let p = NixList::alloc(n);
        let elems = NixList::elems(p);
        let mut i = 0;
        while i < n {
            let Some(v) = it.next() else { break };
            // SAFETY: slot `i < n` is within the block and not yet written.
            unsafe { elems.add(i).write(v) };
            i += 1;
        }
        if i < n {
            // The iterator gave fewer than it promised: the written ones move into a
            // block of the right size.
            let mut v = Vec::with_capacity(i);
            // SAFETY: the first `i` elements are written; they are moved out bit for
            // bit, and the block (no handle to it exists) freed with its own layout.
            unsafe {
                ptr::copy_nonoverlapping(elems, v.as_mut_ptr(), i);
                v.set_len(i);
                let l = layout(n).unwrap_or_else(Layout::new::<Header>);
                alloc::dealloc(p.as_ptr() as *mut u8, l);
            }
            return NixList::from_vec(v);
        }
        let l = NixList(p);
        match it.next() {
            None => l,
            Some(v) => {
                // Or more.
                let mut all = l.to_vec();
                all.push(v);
                all.extend(it);
                NixList::from_vec(all)
            }
        }
    }
}

impl Default for NixList {
    fn default() -> NixList {
        NixList(NixList::alloc(0))
    }
}

impl Clone for NixList {
    #[inline]
    fn clone(&self) -> NixList {
        let rc = &self.header().rc;
        rc.set(rc.get() + 1);
        NixList(self.0)
    }
}

impl std::ops::Deref for NixList {
    type Target = [Value];
    #[inline(always)]
    fn deref(&self) -> &[Value] {
        // SAFETY: the block holds `len` initialised elements after its header, alive
        // while this handle is.
        unsafe { std::slice::from_raw_parts(NixList::elems(self.0), self.header().len) }
    }
}

/// A block whose last handle is gone: dropping it drops the elements and frees it.
/// Goes through `drop::release`, which bounds how deeply nested drops recurse.
struct Dying(NonNull<Header>);

impl Drop for Dying {
    fn drop(&mut self) {
        // SAFETY: no handle to the block is left, so its elements are dropped once and
        // the block freed with the layout it was made with.
        unsafe {
            let n = (*self.0.as_ptr()).len;
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(NixList::elems(self.0), n));
            let l = layout(n).unwrap_or_else(Layout::new::<Header>);
            alloc::dealloc(self.0.as_ptr() as *mut u8, l);
        }
    }
}

impl Drop for NixList {
    #[inline]
    fn drop(&mut self) {
        let rc = &self.header().rc;
        let n = rc.get() - 1;
        rc.set(n);
        if n == 0 {
            drop::release(Dying(self.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An iterator that claims `claim` elements and yields `real`.
    struct Liar {
        claim: usize,
        real: std::ops::Range<i64>,
    }
    impl Iterator for Liar {
        type Item = Value;
        fn next(&mut self) -> Option<Value> {
            self.real.next().map(Value::Int)
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.claim, Some(self.claim))
        }
    }

    fn ints(l: &NixList) -> Vec<i64> {
        l.iter()
            .map(|v| match v {
                Value::Int(i) => *i,
                _ => -1,
            })
            .collect()
    }

    #[test]
    fn built_from_iterators_that_misstate_their_length() {
        let short: NixList = Liar {
            claim: 5,
            real: 0..3,
        }
        .collect();
        assert_eq!(ints(&short), vec![0, 1, 2]);
        let long: NixList = Liar {
            claim: 2,
            real: 0..4,
        }
        .collect();
        assert_eq!(ints(&long), vec![0, 1, 2, 3]);
        let exact: NixList = (0..3).map(Value::Int).collect();
        assert_eq!(ints(&exact), vec![0, 1, 2]);
    }

    #[test]
    fn concat_joins_in_order() {
        let a: NixList = (0..2).map(Value::Int).collect();
        let b: NixList = (2..5).map(Value::Int).collect();
        let l = NixList::concat(&[a.clone(), NixList::default(), b, a]);
        assert_eq!(ints(&l), vec![0, 1, 2, 3, 4, 0, 1]);
        assert_eq!(NixList::concat(&[]).len(), 0);
    }

    #[test]
    fn join_moves_unique_parts_and_copies_shared_ones() {
        let shared: NixList = (1..3).map(Value::Int).collect();
        let fresh: NixList = (3..5).map(Value::Int).collect();
        let all = NixList::join(vec![
            NixList::one(Value::Int(0)),
            shared.clone(),
            NixList::default(),
            fresh,
        ]);
        assert_eq!(ints(&all), vec![0, 1, 2, 3, 4]);
        assert!(shared.is_unique());
        assert!(NixList::ptr_eq(
            &NixList::join(vec![shared.clone()]),
            &shared
        ));
        assert_eq!(NixList::join(vec![]).len(), 0);
    }

    #[test]
    fn from_stack_top_moves_the_values() {
        let mut stack = vec![Value::Int(1), Value::Int(2), Value::Int(3)];
        let l = NixList::from_stack_top(&mut stack, 2);
        assert_eq!(ints(&l), vec![2, 3]);
        assert_eq!(stack.len(), 1);
        let l2 = l.clone();
        assert!(NixList::ptr_eq(&l, &l2) && !l.is_unique());
        drop(l);
        assert!(l2.is_unique());
    }
}
