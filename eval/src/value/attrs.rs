//! Attribute sets. Sets of up to `FLAT_MAX` names are name-sorted arrays searched by
//! symbol (a linear scan over integers, four at a time, costs about as much as hashing
//! at this size). Larger sets are name-sorted arrays too when built in one go (a
//! literal, a builtin, a merge of two sets of similar size), and persistent `imbl` maps
//! once names are added to them a few at a time, so that a chain of small `//`s into a
//! set of thousands of names shares structure instead of copying it each time (see
//! `Attrs::update_entries`). Building a map costs about 450 instructions a name, and
//! `//` into a shared map about 1,000 a name inserted (it copies a 64-entry node),
//! where an array copies a value for about ten.
//!
//! A set is one reference-counted block: a header (count, positions, length) followed
//! by the values and then the names of a flat set, or by the map of a large one. One
//! allocation per set instead of two (an `Rc` and the entries it points to), and a
//! lookup scans a dense array of 4-byte names rather than 24-byte pairs. A large set
//! that is searched often gets a hash index of its map (see `Large`).

use std::alloc::{self, Layout};
use std::cell::{Cell, OnceCell};
use std::cmp::Ordering;
use std::mem::{align_of, size_of};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use super::copy::copy_few;
use super::Value;
use crate::attr_pos::AttrPos;
use crate::symbol::{NameKey, Symbol};
use rustc_hash::FxHashMap;

/// The longest flat set; longer ones are maps.
const FLAT_MAX: usize = 32;

/// `Header::len` of a block that holds a map instead of inline entries.
const LARGE: u16 = u16::MAX;

/// Single-threaded persistent map (runtime values never cross threads).
type Map = imbl::GenericOrdMap<NameKey, Value, imbl::shared_ptr::RcK>;

/// A large set's entries.
enum Body {
    /// Names and values, index for index, sorted by name.
    Sorted(Vec<Symbol>, Vec<Value>),
    Map(Map),
}

/// How many times in a row a sorted large set may be copied to add a few names to it
/// (see `Attrs::update_entries`) before the next addition makes it a map. A copy costs
/// about 15 instructions a name and making a map 450 to 750, so a chain of additions
/// pays at most about a tenth more than maps from the start would have cost.
const MAX_COPIES: u32 = 2;

/// A `//` is lopsided when the larger side has more than this many times the names of
/// the smaller: then inserting the few names into a map beats merging both into a copy.
const LOPSIDED: usize = 16;

/// A large set's body: its entries, and a hash index of them built once the set has
/// been searched often enough to pay for it (a search by name costs about 150-200
/// instructions, a hashed symbol a tenth of that).
struct Large {
    body: Body,
    /// For a sorted body: how many lopsided copies in a row made it (see `MAX_COPIES`).
    copies: u32,
    lookups: Cell<u32>,
    /// Where each value sits in `body`, which is never changed once in a block (a
    /// changed set is a new block), so the addresses hold while the block lives.
    index: OnceCell<FxHashMap<Symbol, NonNull<Value>>>,
}

impl Large {
    #[inline(never)]
    fn get(&self, k: Symbol) -> Option<&Value> {
        if let Some(ix) = self.index.get() {
            // SAFETY: see `index`.
            return ix.get(&k).map(|v| unsafe { v.as_ref() });
        }
        let n = self.lookups.get().saturating_add(1);
        self.lookups.set(n);
        if n as usize >= self.len() / 8 {
            let ix = self.index.get_or_init(|| match &self.body {
                Body::Sorted(keys, vals) => keys
                    .iter()
                    .zip(vals)
                    .map(|(k, v)| (*k, NonNull::from(v)))
                    .collect(),
                Body::Map(m) => m.iter().map(|(k, v)| (k.sym(), NonNull::from(v))).collect(),
            });
            // SAFETY: see `index`.
            return ix.get(&k).map(|v| unsafe { v.as_ref() });
        }
        match &self.body {
            Body::Sorted(keys, vals) => search(keys, k).ok().and_then(|i| vals.get(i)),
            Body::Map(m) => m.get(&NameKey::new(k)),
        }
    }

    fn len(&self) -> usize {
        match &self.body {
            Body::Sorted(keys, _) => keys.len(),
            Body::Map(m) => m.len(),
        }
    }
}

/// Where `k` is in the name-sorted `keys`, or where it would go.
fn search(keys: &[Symbol], k: Symbol) -> Result<usize, usize> {
    let key = NameKey::new(k);
    keys.binary_search_by(|s| NameKey::new(*s).cmp(&key))
}

/// The start of a set's block: 16 bytes. A 32-bit count (2^32 handles would be 64 GiB
/// of values; `clone` aborts rather than wrap) and 16-bit lengths (a flat set has at
/// most `2 * FLAT_MAX` entries) leave room for the position in 8 bytes, not 16. The
/// allocator rounds sizes to classes (16-byte steps up to 64, then four per doubling),
/// so the 8 bytes move sets of 3, 4, 7, 12 and 15 entries into a smaller class.
#[repr(C)]
struct Header {
    rc: Cell<u32>,
    /// Flat entries written so far, or `LARGE`.
    len: u16,
    /// Flat entries the block has room for (its layout is made from this).
    cap: u16,
    /// Where the attributes were defined (see `attr_pos`); `None` when unknown.
    pos: Option<Arc<AttrPos>>,
}

const _: () = assert!(size_of::<Header>() == 16 && 2 * FLAT_MAX < LARGE as usize);

/// The body (values, then names; or the map) starts right after the header, and the
/// names right after `cap` values: each is then aligned without padding.
const BODY: usize = size_of::<Header>();
const ALIGN: usize = align_of::<Header>();
const _: () =
    assert!(BODY.is_multiple_of(align_of::<Value>()) && BODY.is_multiple_of(align_of::<Large>()));
const _: () = assert!(align_of::<Value>() <= ALIGN && align_of::<Large>() <= ALIGN);
const _: () = assert!(size_of::<Value>().is_multiple_of(align_of::<Symbol>()));

/// A flat block's layout. `cap` is at most `2 * FLAT_MAX` (a merge of two flat sets).
#[inline]
fn flat_layout(cap: usize) -> Layout {
    let size = BODY + cap * (size_of::<Value>() + size_of::<Symbol>());
    Layout::from_size_align(size, ALIGN).expect("a flat set's size is far below isize::MAX")
}

fn large_layout() -> Layout {
    Layout::from_size_align(BODY + size_of::<Large>(), ALIGN).expect("constant layout")
}

/// A shared handle to a set's block (cloning counts a reference, as `Rc` does).
pub struct Attrs(NonNull<Header>);

/// The entries of a set, as its block holds them.
enum View<'a> {
    /// Names and values, index for index: a small set, or a sorted large one.
    Flat(&'a [Symbol], &'a [Value]),
    Map(&'a Map),
}

impl Attrs {
    pub fn new() -> Attrs {
        Attrs::with_capacity(0)
    }

    /// From entries already sorted by name with no duplicates.
    pub fn from_sorted(v: Vec<(Symbol, Value)>) -> Attrs {
        Attrs::build(v.len(), v.into_iter())
    }

    /// The set of the names `keys` (sorted, no duplicates) and the values on top of
    /// `stack` in the same order, which are moved off it, defined at `pos`. A flat
    /// set's values and names are copied into its block in bulk.
    /// Out of line: inlined into the VM's dispatch loop, this costs every other
    /// instruction registers.
    #[inline(never)]
    pub fn from_stack_top(
        keys: &[Symbol],
        stack: &mut Vec<Value>,
        pos: Option<&Arc<AttrPos>>,
    ) -> Attrs {
        let n = keys.len();
        if n > FLAT_MAX || stack.len() < n {
            return Attrs::large_from_stack_top(keys, stack, pos);
        }
        let start = stack.len() - n;
        let a = Attrs::block(n, pos.cloned());
        // SAFETY: the block has room for `n` values and then `n` names, and this handle
        // is its only one. The `n` values at the top of the stack are moved: copied
        // bit for bit, then cut off the stack without being dropped.
        unsafe {
            let vals = a.body() as *mut Value;
            copy_few(stack.as_ptr().add(start), vals, n);
            stack.set_len(start);
            copy_few(keys.as_ptr(), vals.add(n) as *mut Symbol, n);
            (*a.0.as_ptr()).len = n as u16;
        }
        a
    }

    /// `from_stack_top` for a large set, out of line so that the small ones need fewer
    /// registers saved.
    #[cold]
    #[inline(never)]
    fn large_from_stack_top(
        keys: &[Symbol],
        stack: &mut Vec<Value>,
        pos: Option<&Arc<AttrPos>>,
    ) -> Attrs {
        let n = keys.len();
        let start = stack.len().saturating_sub(n);
        let a = Attrs::build(n, keys.iter().copied().zip(stack.drain(start..)));
        a.with_pos(pos.cloned())
    }

    /// From arbitrary entries; a later duplicate replaces an earlier one.
    pub fn from_unsorted(mut v: Vec<(Symbol, Value)>) -> Attrs {
        // Stable sort keeps insertion order among equal keys; keep the last of each.
        v.sort_by(|a, b| a.0.cmp_name(b.0));
        let mut out: Vec<(Symbol, Value)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        Attrs::from_sorted(out)
    }

    /// A set of the `n` entries `entries` yields, sorted by name with no duplicates.
    #[inline]
    pub fn build(n: usize, entries: impl Iterator<Item = (Symbol, Value)>) -> Attrs {
        if n > FLAT_MAX {
            let (mut keys, mut vals) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for (k, v) in entries {
                keys.push(k);
                vals.push(v);
            }
            return Attrs::sorted(keys, vals, 0);
        }
        let mut f = Fill::new(n);
        for (k, v) in entries.take(n) {
            f.put(k, v);
        }
        f.done()
    }

    /// An empty flat block with room for `cap` entries, owned by this handle alone.
    #[inline]
    fn with_capacity(cap: usize) -> Attrs {
        Attrs::block(cap, None)
    }

    /// An empty flat block with room for `cap` entries defined at `pos`, owned by this
    /// handle alone.
    #[inline(always)]
    fn block(cap: usize, pos: Option<Arc<AttrPos>>) -> Attrs {
        let header = Header {
            rc: Cell::new(1),
            pos,
            len: 0,
            cap: cap as u16,
        };
        Attrs::alloc(flat_layout(cap), header)
    }

    /// The set of name-sorted `keys` and their `vals`, made by `copies` lopsided copies
    /// in a row (see `MAX_COPIES`).
    #[inline(never)]
    fn sorted(keys: Vec<Symbol>, vals: Vec<Value>, copies: u32) -> Attrs {
        if keys.len() <= FLAT_MAX {
            return Attrs::build(keys.len(), keys.into_iter().zip(vals));
        }
        Attrs::large(Body::Sorted(keys, vals), copies)
    }

    #[inline]
    fn alloc(layout: Layout, header: Header) -> Attrs {
        // SAFETY: the layout is never zero-sized (it holds at least the header).
        let p = unsafe { alloc::alloc(layout) } as *mut Header;
        let Some(p) = NonNull::new(p) else {
            alloc::handle_alloc_error(layout)
        };
        // SAFETY: freshly allocated, with room and alignment for a header.
        unsafe { p.as_ptr().write(header) };
        Attrs(p)
    }

    fn large(body: Body, copies: u32) -> Attrs {
        let header = Header {
            rc: Cell::new(1),
            pos: None,
            len: LARGE,
            cap: 0,
        };
        let a = Attrs::alloc(large_layout(), header);
        // SAFETY: a large layout has room for the map after the header; nothing reads
        // it (or drops this block) before it is written here.
        unsafe {
            (a.body() as *mut Large).write(Large {
                body,
                copies,
                lookups: Cell::new(0),
                index: OnceCell::new(),
            })
        };
        a
    }

    #[inline(always)]
    fn header(&self) -> &Header {
        // SAFETY: the block lives as long as any handle to it.
        unsafe { self.0.as_ref() }
    }

    #[inline(always)]
    fn body(&self) -> *mut u8 {
        // SAFETY: every block is at least a header long.
        unsafe { (self.0.as_ptr() as *mut u8).add(BODY) }
    }

    /// The body of a block whose header says `LARGE`.
    #[inline(always)]
    fn large_body(&self) -> &Large {
        // SAFETY: a large block holds an initialised `Large` after its header.
        unsafe { &*(self.body() as *const Large) }
    }

    /// A flat block's names and values; `None` for a large set.
    #[inline(always)]
    fn small(&self) -> Option<(&[Symbol], &[Value])> {
        let h = self.header();
        if h.len == LARGE {
            return None;
        }
        // SAFETY: a flat block has room for `cap` values and then `cap` names after
        // its header; the first `len` of each are initialised.
        unsafe {
            let vals = self.body() as *const Value;
            let keys = vals.add(h.cap as usize) as *const Symbol;
            let n = h.len as usize;
            Some((
                std::slice::from_raw_parts(keys, n),
                std::slice::from_raw_parts(vals, n),
            ))
        }
    }

    #[inline(always)]
    fn view(&self) -> View<'_> {
        match self.small() {
            Some((keys, vals)) => View::Flat(keys, vals),
            None => match &self.large_body().body {
                Body::Sorted(keys, vals) => View::Flat(keys, vals),
                Body::Map(m) => View::Map(m),
            },
        }
    }

    fn is_large(&self) -> bool {
        self.header().len == LARGE
    }

    /// Record where the attributes were defined.
    pub fn with_pos(mut self, pos: Option<Arc<AttrPos>>) -> Attrs {
        self.set_pos(pos);
        self
    }

    #[inline(always)]
    fn set_pos(&mut self, pos: Option<Arc<AttrPos>>) {
        if self.header().rc.get() != 1 {
            *self = self.copy();
        }
        // SAFETY: this handle is the only one, so nothing else borrows the header.
        unsafe { (*self.0.as_ptr()).pos = pos };
    }

    /// The same set in a block of its own.
    fn copy(&self) -> Attrs {
        let a = match self.view() {
            View::Flat(k, v) => Attrs::build(k.len(), k.iter().copied().zip(v.iter().cloned())),
            View::Map(m) => Attrs::large(Body::Map(m.clone()), 0),
        };
        // SAFETY: `a` was made just now and is its block's only handle.
        unsafe { (*a.0.as_ptr()).pos = self.pos().cloned() };
        a
    }

    /// Where the attributes were defined, if known.
    pub fn pos(&self) -> Option<&Arc<AttrPos>> {
        self.header().pos.as_ref()
    }

    /// Flat sets are searched here, inline at the caller; large ones out of line, so
    /// that their search does not make every lookup save and restore registers.
    #[inline]
    pub fn get(&self, k: Symbol) -> Option<&Value> {
        match self.small() {
            Some((keys, vals)) => find(keys, k).and_then(|i| vals.get(i)),
            None => self.large_body().get(k),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self.view() {
            View::Flat(k, _) => k.len(),
            View::Map(m) => m.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add or replace an attribute. Its position is unknown, and recorded positions of
    /// the others are dropped with it (the caller re-attaches them if it knows better).
    /// A large set becomes a map, so that adding names one by one does not copy it
    /// each time.
    pub fn insert(&mut self, k: Symbol, val: Value) {
        *self = match self.small() {
            Some((keys, vals)) => {
                let i = keys.partition_point(|s| s.cmp_name(k) == Ordering::Less);
                let skip = usize::from(keys.get(i) == Some(&k));
                let entries = || keys.iter().copied().zip(vals.iter().cloned());
                let before = entries().take(i);
                let after = entries().skip(i + skip);
                let n = keys.len() + 1 - skip;
                Attrs::build(n, before.chain([(k, val)]).chain(after))
            }
            None => {
                let mut m = self.to_map();
                m.insert(NameKey::new(k), val);
                Attrs::large(Body::Map(m), 0)
            }
        };
    }

    /// The set without the attributes `names` (which need not be in it). Positions of
    /// the rest still hold.
    pub fn without(&self, names: &[Symbol]) -> Attrs {
        let out = match self.view() {
            // A sorted large set: each name is searched for, not each entry checked
            // against every name.
            View::Flat(keys, vals) if keys.len() > FLAT_MAX => {
                let mut gone = vec![false; keys.len()];
                for &k in names {
                    if let Ok(i) = search(keys, k) {
                        gone[i] = true;
                    }
                }
                let n = gone.iter().filter(|g| !**g).count();
                if n == keys.len() {
                    return self.clone();
                }
                let entries = keys.iter().copied().zip(vals.iter().cloned());
                let kept = entries.zip(gone).filter(|(_, g)| !g).map(|(e, _)| e);
                Attrs::build(n, kept)
            }
            View::Flat(keys, vals) => {
                let keep = |k: &Symbol| !names.contains(k);
                let n = keys.iter().filter(|k| keep(k)).count();
                if n == keys.len() {
                    return self.clone();
                }
                let entries = keys.iter().copied().zip(vals.iter().cloned());
                Attrs::build(n, entries.filter(|(k, _)| keep(k)))
            }
            View::Map(m) => {
                let mut m = m.clone();
                for &k in names {
                    m.remove(&NameKey::new(k));
                }
                Attrs::large(Body::Map(m), 0)
            }
        };
        out.with_pos(self.pos().cloned())
    }

    /// Entries in name order.
    #[inline]
    pub fn iter(&self) -> AttrsIter<'_> {
        match self.view() {
            View::Flat(k, v) => AttrsIter::Flat(k.iter().zip(v.iter())),
            View::Map(m) => AttrsIter::Large(m.iter()),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = Symbol> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// `self // other`. An empty side gives the other set itself, not a copy.
    pub fn update(&self, other: &Attrs) -> Attrs {
        // Two flat sets, the common case, are taken apart once.
        if let (Some((ak, av)), Some((bk, bv))) = (self.small(), other.small()) {
            if bk.is_empty() {
                return self.clone();
            }
            if ak.is_empty() {
                return other.clone();
            }
            let pos = AttrPos::update(self.pos(), other.pos());
            let mut out = merge_flat(ak, av, bk, bv);
            if out.len() > FLAT_MAX {
                out = Attrs::build(out.len(), out.iter().map(|(k, v)| (k, v.clone())));
            }
            out.set_pos(pos);
            return out;
        }
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let pos = AttrPos::update(self.pos(), other.pos());
        let mut out = self.update_entries(other);
        out.set_pos(pos);
        out
    }

    /// `self // other` where a side is large.
    fn update_entries(&self, other: &Attrs) -> Attrs {
        // A large side: merge both into a sorted copy, unless the smaller side has only
        // a few names for the larger, which then are inserted into a map of it.
        let right_wins = self.len() >= other.len();
        let (big, small) = if right_wins {
            (self, other)
        } else {
            (other, self)
        };
        if !big.is_large() || big.len() <= LOPSIDED * small.len() {
            return merge_large(self, other, 0);
        }
        let Body::Map(m) = &big.large_body().body else {
            let copies = big.large_body().copies;
            if copies < MAX_COPIES {
                if let (View::Flat(ak, av), View::Flat(bk, bv)) = (self.view(), other.view()) {
                    return merge_runs(ak, av, bk, bv, copies + 1);
                }
                return merge_large(self, other, copies + 1);
            }
            return insert_into(big.to_map(), small, right_wins);
        };
        insert_into(m.clone(), small, right_wins)
    }

    fn to_map(&self) -> Map {
        match self.view() {
            View::Flat(..) => sorted_map(self.iter().map(|(k, v)| (k, v.clone()))),
            View::Map(m) => m.clone(),
        }
    }

    /// The address of the set's block: the same for every handle to it.
    #[inline]
    pub fn as_ptr(&self) -> *const () {
        self.0.as_ptr() as *const ()
    }

    #[inline]
    pub fn ptr_eq(a: &Attrs, b: &Attrs) -> bool {
        a.0 == b.0
    }

    /// How many handles share this set's block.
    pub fn strong_count(a: &Attrs) -> usize {
        a.header().rc.get() as usize
    }
}

/// The index of `k` in `keys`. Four names are compared at a time: on x86-64 with one
/// SSE2 compare and a mask (SSE2 is part of the baseline there), where scalar compares
/// cost about four instructions a name.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn find(keys: &[Symbol], k: Symbol) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_castsi128_ps, _mm_cmpeq_epi32, _mm_movemask_ps, _mm_set1_epi32, _mm_set_epi32,
    };
    let mut chunks = keys.chunks_exact(4);
    let mut base = 0;
    // SAFETY: these intrinsics only need SSE2, which the cfg above guarantees; none
    // reads memory (the names are passed as values).
    unsafe {
        let needle = _mm_set1_epi32(k.0 as i32);
        for c in &mut chunks {
            let v = _mm_set_epi32(c[3].0 as i32, c[2].0 as i32, c[1].0 as i32, c[0].0 as i32);
            let hits = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, needle)));
            if hits != 0 {
                return Some(base + hits.trailing_zeros() as usize);
            }
            base += 4;
        }
    }
    let rest = chunks.remainder();
    rest.iter().position(|&s| s == k).map(|i| base + i)
}

/// The index of `k` in `keys`, four names at a time elsewhere.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn find(keys: &[Symbol], k: Symbol) -> Option<usize> {
    let mut chunks = keys.chunks_exact(4);
    let mut base = 0;
    for c in &mut chunks {
        let hits = (c[0] == k) as u32
            | ((c[1] == k) as u32) << 1
            | ((c[2] == k) as u32) << 2
            | ((c[3] == k) as u32) << 3;
        if hits != 0 {
            return Some(base + hits.trailing_zeros() as usize);
        }
        base += 4;
    }
    let rest = chunks.remainder();
    rest.iter().position(|&s| s == k).map(|i| base + i)
}

/// `a // b` for two large sets, or a large and a small one: a sorted set of both,
/// made by `copies` lopsided copies in a row.
#[inline(never)]
fn merge_large(a: &Attrs, b: &Attrs, copies: u32) -> Attrs {
    let n = a.len() + b.len();
    let (mut keys, mut vals) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut ia, mut ib) = (a.iter().peekable(), b.iter().peekable());
    while let (Some(&(ka, va)), Some(&(kb, vb))) = (ia.peek(), ib.peek()) {
        match ka.cmp_name(kb) {
            Ordering::Less => {
                keys.push(ka);
                vals.push(va.clone());
                ia.next();
            }
            Ordering::Greater => {
                keys.push(kb);
                vals.push(vb.clone());
                ib.next();
            }
            Ordering::Equal => {
                keys.push(kb);
                vals.push(vb.clone());
                ia.next();
                ib.next();
            }
        }
    }
    for (k, v) in ia.chain(ib) {
        keys.push(k);
        vals.push(v.clone());
    }
    Attrs::sorted(keys, vals, copies)
}

/// `a // b` for two name-sorted arrays, one with few names for the other: the runs of
/// the larger between the smaller's names are found by binary search and copied whole.
/// The result is made by `copies` lopsided copies in a row.
#[inline(never)]
fn merge_runs(ak: &[Symbol], av: &[Value], bk: &[Symbol], bv: &[Value], copies: u32) -> Attrs {
    let right_wins = ak.len() >= bk.len();
    let (big_k, big_v, few_k, few_v) = if right_wins {
        (ak, av, bk, bv)
    } else {
        (bk, bv, ak, av)
    };
    let n = ak.len() + bk.len();
    let (mut keys, mut vals) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut at = 0;
    for (&k, v) in few_k.iter().zip(few_v) {
        let rest = big_k.get(at..).unwrap_or_default();
        let p = at + rest.partition_point(|s| s.cmp_name(k) == Ordering::Less);
        keys.extend_from_slice(&big_k[at..p]);
        vals.extend_from_slice(&big_v[at..p]);
        at = p;
        keys.push(k);
        if big_k.get(p) == Some(&k) {
            // `b`'s value wins: `v` if `b` is the smaller side.
            vals.push(if right_wins { v } else { &big_v[p] }.clone());
            at += 1;
        } else {
            vals.push(v.clone());
        }
    }
    keys.extend_from_slice(&big_k[at..]);
    vals.extend_from_slice(&big_v[at..]);
    Attrs::sorted(keys, vals, copies)
}

/// The map `base` with the entries of `add`, which replace its own if `right_wins`
/// and else only fill in names it lacks.
#[inline(never)]
fn insert_into(mut base: Map, add: &Attrs, right_wins: bool) -> Attrs {
    for (k, v) in add.iter() {
        if right_wins {
            base.insert(NameKey::new(k), v.clone());
        } else {
            base.entry(NameKey::new(k)).or_insert_with(|| v.clone());
        }
    }
    Attrs::large(Body::Map(base), 0)
}

/// `a // b` for two flat sets: one walk over both name-sorted arrays into a block
/// with room for both (names in both are kept once, from `b`).
fn merge_flat(ak: &[Symbol], av: &[Value], bk: &[Symbol], bv: &[Value]) -> Attrs {
    let mut out = Fill::new(ak.len() + bk.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&ka), Some(&kb)) = (ak.get(i), bk.get(j)) {
        match ka.cmp_name(kb) {
            Ordering::Less => {
                out.put(ka, av[i].clone());
                i += 1
            }
            Ordering::Greater => {
                out.put(kb, bv[j].clone());
                j += 1
            }
            Ordering::Equal => {
                out.put(kb, bv[j].clone());
                i += 1;
                j += 1
            }
        }
    }
    for (k, v) in ak[i..].iter().zip(&av[i..]) {
        out.put(*k, v.clone());
    }
    for (k, v) in bk[j..].iter().zip(&bv[j..]) {
        out.put(*k, v.clone());
    }
    out.done()
}

/// A new flat block being filled in name order. The count of entries lives in a
/// register until `done` writes it to the header: until then the block holds no
/// entries (if a clone were to unwind, those written would leak, never be freed twice).
struct Fill {
    block: Attrs,
    vals: *mut Value,
    keys: *mut Symbol,
    n: usize,
    cap: usize,
}

impl Fill {
    #[inline(always)]
    fn new(cap: usize) -> Fill {
        let block = Attrs::with_capacity(cap);
        let vals = block.body() as *mut Value;
        // SAFETY: the names start right after `cap` values, inside the block.
        let keys = unsafe { vals.add(cap) } as *mut Symbol;
        Fill {
            block,
            vals,
            keys,
            n: 0,
            cap,
        }
    }

    /// Append an entry; one past the capacity is dropped (callers never make more
    /// than they made room for).
    #[inline(always)]
    fn put(&mut self, k: Symbol, v: Value) {
        if self.n >= self.cap {
            debug_assert!(false, "put past a small set's capacity");
            return;
        }
        // SAFETY: slot `n` of both arrays is within the block and not yet written; the
        // block has no other handle.
        unsafe {
            self.vals.add(self.n).write(v);
            self.keys.add(self.n).write(k);
        }
        self.n += 1;
    }

    #[inline(always)]
    fn done(self) -> Attrs {
        // SAFETY: the first `n` entries are written, and this is the block's only
        // handle.
        unsafe { (*self.block.0.as_ptr()).len = self.n as u16 };
        self.block
    }
}

/// A large set from entries sorted by name.
#[cold]
fn sorted_map(v: impl Iterator<Item = (Symbol, Value)>) -> Map {
    v.map(|(k, v)| (NameKey::new(k), v)).collect()
}

impl Default for Attrs {
    fn default() -> Self {
        Attrs::new()
    }
}

impl Clone for Attrs {
    #[inline]
    fn clone(&self) -> Attrs {
        let rc = &self.header().rc;
        // As `Rc` does: a count that would wrap means memory is corrupt.
        let Some(n) = rc.get().checked_add(1) else {
            std::process::abort()
        };
        rc.set(n);
        Attrs(self.0)
    }
}

impl Drop for Attrs {
    #[inline]
    fn drop(&mut self) {
        let rc = &self.header().rc;
        let n = rc.get() - 1;
        rc.set(n);
        if n == 0 {
            free(Block(self.0));
        }
    }
}

/// A block whose last handle is gone; dropping it frees the entries and the block.
struct Block(NonNull<Header>);

/// Entries are freed through `drop::release`, so that a deep chain of sets does not
/// recurse on the Rust stack.
#[inline(never)]
fn free(b: Block) {
    // SAFETY: the block is still allocated until `b` is dropped.
    if unsafe { b.0.as_ref() }.len == 0 {
        drop(b);
    } else {
        super::drop::release(b);
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let p = self.0.as_ptr();
        // SAFETY: no handle to the block is left, so this is its only user. The body
        // is what the header says it is (see `Attrs::view`), and the layout is the
        // one it was allocated with.
        unsafe {
            let body = (p as *mut u8).add(BODY);
            let layout = if (*p).len == LARGE {
                ptr::drop_in_place(body as *mut Large);
                large_layout()
            } else {
                let vals = body as *mut Value;
                ptr::drop_in_place(ptr::slice_from_raw_parts_mut(vals, (*p).len as usize));
                flat_layout((*p).cap as usize)
            };
            ptr::drop_in_place(p);
            alloc::dealloc(p as *mut u8, layout);
        }
    }
}

pub enum AttrsIter<'a> {
    Flat(std::iter::Zip<std::slice::Iter<'a, Symbol>, std::slice::Iter<'a, Value>>),
    Large(imbl::ordmap::Iter<'a, NameKey, Value, imbl::shared_ptr::RcK>),
}

impl<'a> Iterator for AttrsIter<'a> {
    type Item = (Symbol, &'a Value);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AttrsIter::Flat(it) => it.next().map(|(k, v)| (*k, v)),
            AttrsIter::Large(it) => it.next().map(|(k, v)| (k.sym(), v)),
        }
    }

    /// Exact, so that a list or vector collected from a set is allocated once.
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            AttrsIter::Flat(it) => it.size_hint(),
            AttrsIter::Large(it) => it.size_hint(),
        }
    }
}

impl FromIterator<(Symbol, Value)> for Attrs {
    fn from_iter<T: IntoIterator<Item = (Symbol, Value)>>(iter: T) -> Self {
        Attrs::from_unsorted(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod size_tests {
    /// A set is one pointer to its block, so `Value` stays two words.
    #[test]
    fn a_set_is_one_pointer() {
        use std::mem::size_of;
        assert_eq!(size_of::<super::Attrs>(), size_of::<usize>());
        assert_eq!(size_of::<super::Value>(), 2 * size_of::<usize>());
    }
}
#[cfg(test)]
mod update_tests {
    use super::*;

    fn set(names: &[&str], tag: i64) -> Attrs {
        Attrs::from_unsorted(
            names
                .iter()
                .map(|n| (Symbol::intern(n), Value::Int(tag)))
                .collect(),
        )
    }

    /// Names sharing their 8-byte prefix take the full-name path of the merge.
    #[test]
    fn small_merge_is_name_ordered_and_right_biased() {
        let a = set(&["prefixed_b", "x", "prefixed_a", "a"], 1);
        let b = set(&["prefixed_a", "prefixed_c", "b", "x"], 2);
        let got: Vec<(String, i64)> = a
            .update(&b)
            .iter()
            .map(|(k, v)| match v {
                Value::Int(i) => (k.as_str().to_owned(), *i),
                _ => unreachable!(),
            })
            .collect();
        let want = [
            ("a", 1),
            ("b", 2),
            ("prefixed_a", 2),
            ("prefixed_b", 1),
            ("prefixed_c", 2),
            ("x", 2),
        ];
        let want: Vec<(String, i64)> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(got, want);
    }
}

#[cfg(test)]
mod block_tests {
    use super::*;

    fn named(prefix: &str, range: std::ops::Range<i64>) -> Vec<(Symbol, Value)> {
        range
            .map(|i| (Symbol::intern(&format!("{prefix}{i:03}")), Value::Int(i)))
            .collect()
    }

    fn ints(a: &Attrs) -> Vec<(String, i64)> {
        a.iter()
            .map(|(k, v)| match v {
                Value::Int(i) => (k.as_str().to_owned(), *i),
                _ => unreachable!(),
            })
            .collect()
    }

    fn sorted(mut v: Vec<(String, i64)>) -> Vec<(String, i64)> {
        v.sort();
        v
    }

    #[test]
    fn insert_keeps_order_and_grows_into_a_map() {
        let mut a = Attrs::from_unsorted(named("k", 0..FLAT_MAX as i64));
        let shared = a.clone();
        a.insert(Symbol::intern("k005"), Value::Int(-5));
        a.insert(Symbol::intern("a"), Value::Int(-1));
        assert_eq!(a.len(), FLAT_MAX + 1);
        assert!(a.is_large());
        assert!(matches!(
            a.get(Symbol::intern("k005")),
            Some(Value::Int(-5))
        ));
        assert!(matches!(a.get(Symbol::intern("a")), Some(Value::Int(-1))));
        let got = ints(&a);
        assert_eq!(got, sorted(got.clone()));
        // The other handle still sees the set as it was.
        assert_eq!(shared.len(), FLAT_MAX);
        assert!(matches!(
            shared.get(Symbol::intern("k005")),
            Some(Value::Int(5))
        ));
    }

    #[test]
    fn merges_stay_flat_up_to_flat_max() {
        let a = Attrs::from_sorted(named("m", 0..10));
        let b = Attrs::from_sorted(named("m", 5..15));
        let both = a.update(&b);
        assert_eq!(both.len(), 15);
        assert!(matches!(both.view(), View::Flat(..)));
        let c = Attrs::from_sorted(named("n", 0..10));
        let wide = a.update(&c);
        assert_eq!(wide.len(), 20);
        assert!(matches!(wide.view(), View::Flat(..)));
        let got = ints(&wide);
        assert_eq!(got, sorted(got.clone()));
        // Two halves that overlap in one name: flat exactly up to `FLAT_MAX`.
        let half = FLAT_MAX as i64 / 2;
        let lo = Attrs::from_sorted(named("p", 0..half + 1));
        let hi = Attrs::from_sorted(named("p", half..2 * half));
        let full = lo.update(&hi);
        assert_eq!(full.len(), FLAT_MAX);
        assert!(matches!(full.view(), View::Flat(..)));
        let over = full.update(&c);
        assert_eq!(over.len(), FLAT_MAX + 10);
        assert!(over.is_large());
        let got = ints(&over);
        assert_eq!(got, sorted(got.clone()));
        assert!(matches!(
            over.get(Symbol::intern("p003")),
            Some(Value::Int(3))
        ));
        assert!(matches!(
            over.get(Symbol::intern("n003")),
            Some(Value::Int(3))
        ));
        // An empty side is the other set itself.
        assert!(Attrs::ptr_eq(&a.update(&Attrs::new()), &a));
        assert!(Attrs::ptr_eq(&Attrs::new().update(&a), &a));
    }

    #[test]
    fn without_and_with_pos_leave_other_handles_alone() {
        let pos = Arc::new(AttrPos::site(
            Arc::new(crate::compiled::SourceFile {
                name: "f.nix".into(),
                text: String::new(),
                dir: "/".into(),
            }),
            Vec::new(),
            true,
        ));
        for n in [5, 40] {
            let a = Attrs::from_sorted(named("w", 0..n)).with_pos(Some(pos.clone()));
            let b = a.without(&[Symbol::intern("w001"), Symbol::intern("absent")]);
            assert_eq!(b.len(), n as usize - 1);
            assert!(b.get(Symbol::intern("w001")).is_none());
            assert!(Arc::ptr_eq(b.pos().unwrap(), &pos));
            let c = a.clone().with_pos(None);
            assert!(c.pos().is_none());
            assert!(a.pos().is_some());
            assert_eq!(a.len(), n as usize);
        }
    }

    #[test]
    fn sets_built_from_the_stack_take_its_top_values() {
        for n in [0, 3, 20, 300] {
            let entries = named("s", 0..n);
            let keys: Vec<Symbol> = entries.iter().map(|e| e.0).collect();
            let mut stack = vec![Value::Int(-1)];
            stack.extend(entries.iter().map(|e| e.1.clone()));
            let a = Attrs::from_stack_top(&keys, &mut stack, None);
            assert_eq!(stack.len(), 1);
            assert_eq!(ints(&a), ints(&Attrs::from_sorted(entries)));
        }
    }

    /// Freeing a long chain of sets goes through `drop::release`, not Rust recursion.
    #[test]
    fn a_deep_chain_of_sets_drops_without_overflow() {
        let next = Symbol::intern("next");
        let mut v = Value::attrs(Attrs::new());
        for _ in 0..1_000_000 {
            v = Value::attrs(Attrs::from_sorted(vec![(next, v)]));
        }
        drop(v);
    }

    /// `//` gives the same entries whichever way the sets are held: sorted arrays,
    /// copies of them with a few names added, maps once such copies chain, and either
    /// side the larger.
    #[test]
    fn large_updates_agree_with_a_plain_merge() {
        fn plain(a: &Attrs, b: &Attrs) -> Vec<(String, i64)> {
            let mut m: std::collections::BTreeMap<String, i64> = ints(a).into_iter().collect();
            m.extend(ints(b));
            m.into_iter().collect()
        }
        let big = Attrs::from_sorted(named("b", 0..200));
        assert!(big.is_large() && matches!(big.view(), View::Flat(..)));
        let mut acc = big.clone();
        for i in 0..MAX_COPIES as i64 + 3 {
            let one = Attrs::from_sorted(named("c", i..i + 1));
            let want = plain(&acc, &one);
            acc = acc.update(&one);
            assert_eq!(ints(&acc), want);
            let copied = i < MAX_COPIES as i64;
            assert_eq!(matches!(acc.view(), View::Flat(..)), copied, "{i}");
        }
        let over: Vec<_> = named("b", 5..8)
            .into_iter()
            .map(|(k, _)| (k, Value::Int(-1)))
            .collect();
        let over = Attrs::from_sorted(over);
        let half = Attrs::from_sorted(named("b", 100..300));
        let sets = [&over, &big, &acc, &half];
        for x in sets {
            for y in sets {
                let both = x.update(y);
                assert_eq!(ints(&both), plain(x, y));
                for (k, v) in y.iter() {
                    assert!(
                        matches!((both.get(k), v), (Some(Value::Int(a)), Value::Int(b)) if a == b)
                    );
                }
            }
        }
    }

    #[test]
    fn long_lookups_agree_before_and_after_the_index() {
        // Small, and large both sorted and as a map (names added one by one), each with
        // an index after enough lookups.
        for n in [40, FLAT_MAX as i64, FLAT_MAX as i64 + 100] {
            let sorted = Attrs::from_sorted(named("x", 0..n));
            assert_eq!(sorted.is_large(), n > FLAT_MAX as i64);
            let mut map = sorted.clone();
            map.insert(Symbol::intern("y"), Value::Null);
            assert_eq!(matches!(map.view(), View::Map(..)), n > FLAT_MAX as i64);
            for (a, round) in [&sorted, &map].into_iter().zip(0..).flat_map(|s| [s; 3]) {
                for i in 0..n {
                    let k = Symbol::intern(&format!("x{i:03}"));
                    assert!(
                        matches!(a.get(k), Some(Value::Int(j)) if *j == i),
                        "{round} {i}"
                    );
                }
                assert!(a.get(Symbol::intern(&format!("x{n:03}"))).is_none());
            }
        }
    }
}
