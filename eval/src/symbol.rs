//! Interned identifiers and attribute names: `Symbol(u32)`, compared as integers.
//!
//! The table is global (so compiled files that mention symbols are `Send + Sync` and can
//! be shared between threads). The hot paths take no lock: a symbol's text is read from
//! a lock-free table, and interning a name already seen hits a per-thread cache.

use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Symbol(pub u32);

/// Interning hashes every dynamic attribute name: FxHash, not SipHash (the names are
/// not attacker-chosen keys of a long-lived server table).
type Map = rustc_hash::FxHashMap<&'static str, u32>;

struct Global {
    names: Vec<&'static str>,
    map: Map,
}

fn global() -> &'static Mutex<Global> {
    static G: OnceLock<Mutex<Global>> = OnceLock::new();
    G.get_or_init(|| {
        Mutex::new(Global {
            names: Vec::new(),
            map: Map::default(),
        })
    })
}

// Names by id, readable without a lock: attribute sets compare names on every lookup,
// so `as_str` must be a couple of loads. Chunks of slots are allocated on demand and
// never freed; a slot is written once (under the global lock) before its id is handed
// out, and published with release/acquire ordering.
const CHUNK_BITS: u32 = 12;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const MAX_CHUNKS: usize = 1 << (32 - CHUNK_BITS);

/// What a published slot points to: the name, and its first eight bytes as a
/// big-endian integer (zero-padded), so most name comparisons are one integer compare.
struct Entry {
    name: &'static str,
    prefix: u64,
}

fn prefix_of(s: &str) -> u64 {
    let mut b = [0u8; 8];
    let n = s.len().min(8);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_be_bytes(b)
}

type Slot = AtomicPtr<Entry>;

static TABLE: [AtomicPtr<Slot>; MAX_CHUNKS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_CHUNKS];

#[inline]
fn published(id: u32) -> Option<&'static Entry> {
    let chunk = TABLE[(id >> CHUNK_BITS) as usize].load(Ordering::Acquire);
    if chunk.is_null() {
        return None;
    }
    // SAFETY: a non-null chunk points to CHUNK_LEN slots that are never freed.
    let slot = unsafe { &*chunk.add(id as usize & (CHUNK_LEN - 1)) };
    let name = slot.load(Ordering::Acquire);
    // SAFETY: a non-null slot points to a leaked `Entry`, written once.
    (!name.is_null()).then(|| unsafe { &*name })
}

/// Called with the global lock held, so chunks and slots have a single writer.
fn publish(id: u32, name: &'static str) {
    let cell = &TABLE[(id >> CHUNK_BITS) as usize];
    let mut chunk = cell.load(Ordering::Acquire);
    if chunk.is_null() {
        let slots: Box<[Slot]> = (0..CHUNK_LEN)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        chunk = Box::leak(slots).as_mut_ptr();
        cell.store(chunk, Ordering::Release);
    }
    let boxed: &'static mut Entry = Box::leak(Box::new(Entry {
        name,
        prefix: prefix_of(name),
    }));
    // SAFETY: as in `published`; the index is within the chunk.
    unsafe { &*chunk.add(id as usize & (CHUNK_LEN - 1)) }.store(boxed, Ordering::Release);
}

#[derive(Default)]
struct Local {
    map: Map,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

impl Symbol {
    /// The hot path is the per-thread lookup alone; the rest is kept out of line so
    /// that this stays small enough for the lookup to be inlined into it.
    pub fn intern(s: &str) -> Symbol {
        match LOCAL.with(|l| l.borrow().map.get(s).copied()) {
            Some(id) => Symbol(id),
            None => Symbol::intern_new(s),
        }
    }

    /// A name this thread has not interned yet.
    #[cold]
    #[inline(never)]
    fn intern_new(s: &str) -> Symbol {
        let id = {
            let mut g = global().lock().unwrap_or_else(|e| e.into_inner());
            if let Some(&id) = g.map.get(s) {
                id
            } else {
                // Leaked on purpose: symbols live as long as the process, like C++ Nix's.
                let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
                let id = g.names.len() as u32;
                g.names.push(leaked);
                g.map.insert(leaked, id);
                publish(id, leaked);
                id
            }
        };
        let name = Symbol(id).as_str();
        LOCAL.with(|l| l.borrow_mut().map.insert(name, id));
        Symbol(id)
    }

    #[inline]
    pub fn as_str(self) -> &'static str {
        self.entry().name
    }

    #[inline]
    fn entry(self) -> &'static Entry {
        match published(self.0) {
            Some(e) => e,
            None => unpublished(self),
        }
    }

    /// The first eight bytes of the name as a big-endian integer, zero-padded: names
    /// with different prefixes are ordered by them alone (see `cmp_name`).
    #[inline]
    pub fn name_prefix(self) -> u64 {
        self.entry().prefix
    }

    /// Order by name, as Nix orders attribute names. Names whose first eight bytes
    /// differ are ordered by those alone (zero padding cannot reorder them: a padded
    /// zero only ties with a real zero, and ties fall through to the full compare).
    #[inline]
    pub fn cmp_name(self, other: Symbol) -> std::cmp::Ordering {
        if self == other {
            return std::cmp::Ordering::Equal;
        }
        let (a, b) = (self.entry(), other.entry());
        match a.prefix.cmp(&b.prefix) {
            std::cmp::Ordering::Equal => a.name.cmp(b.name),
            o => o,
        }
    }
}

/// A symbol ordered by its name, as Nix orders attribute names. The first eight bytes
/// of the name are kept beside the symbol, so that sorting or merging by name compares
/// integers and reads the symbol table once per name, and again only for names sharing
/// a prefix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NameKey {
    prefix: u64,
    sym: Symbol,
}

impl NameKey {
    #[inline]
    pub fn new(sym: Symbol) -> NameKey {
        NameKey {
            prefix: sym.name_prefix(),
            sym,
        }
    }

    #[inline]
    pub fn sym(self) -> Symbol {
        self.sym
    }
}

impl PartialOrd for NameKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NameKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match self.prefix.cmp(&other.prefix) {
            std::cmp::Ordering::Equal => self.sym.cmp_name(other.sym),
            o => o,
        }
    }
}

/// Every id is published (under the lock) before `intern` hands it out; taking the lock
/// makes that write visible here even without other synchronisation. A `Symbol` made
/// up from a number that was never interned is a bug in the caller.
#[cold]
fn unpublished(s: Symbol) -> &'static Entry {
    let _g = global().lock().unwrap_or_else(|e| e.into_inner());
    published(s.0).unwrap_or_else(|| panic!("symbol {} was never interned", s.0))
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
