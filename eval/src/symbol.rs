//! Interned identifiers and attribute names: `Symbol(u32)`, compared as integers.
//!
//! The table is global (so compiled files that mention symbols are `Send + Sync` and can
//! be shared between threads). The hot paths take no lock: a symbol's text is read from
//! a lock-free table, and interning a name already seen hits a per-thread cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Symbol(pub u32);

struct Global {
    names: Vec<&'static str>,
    map: HashMap<&'static str, u32>,
}

fn global() -> &'static Mutex<Global> {
    static G: OnceLock<Mutex<Global>> = OnceLock::new();
    G.get_or_init(|| {
        Mutex::new(Global {
            names: Vec::new(),
            map: HashMap::new(),
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

type Slot = AtomicPtr<&'static str>;

static TABLE: [AtomicPtr<Slot>; MAX_CHUNKS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_CHUNKS];

#[inline]
fn published(id: u32) -> Option<&'static str> {
    let chunk = TABLE[(id >> CHUNK_BITS) as usize].load(Ordering::Acquire);
    if chunk.is_null() {
        return None;
    }
    // SAFETY: a non-null chunk points to CHUNK_LEN slots that are never freed.
    let slot = unsafe { &*chunk.add(id as usize & (CHUNK_LEN - 1)) };
    let name = slot.load(Ordering::Acquire);
    // SAFETY: a non-null slot points to a leaked `&'static str`, written once.
    (!name.is_null()).then(|| unsafe { *name })
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
    let boxed: &'static mut &'static str = Box::leak(Box::new(name));
    // SAFETY: as in `published`; the index is within the chunk.
    unsafe { &*chunk.add(id as usize & (CHUNK_LEN - 1)) }.store(boxed, Ordering::Release);
}

#[derive(Default)]
struct Local {
    map: HashMap<&'static str, u32>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

impl Symbol {
    pub fn intern(s: &str) -> Symbol {
        if let Some(id) = LOCAL.with(|l| l.borrow().map.get(s).copied()) {
            return Symbol(id);
        }
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

    pub fn as_str(self) -> &'static str {
        if let Some(s) = published(self.0) {
            return s;
        }
        let g = global().lock().unwrap_or_else(|e| e.into_inner());
        g.names[self.0 as usize]
    }

    /// Order by name, as Nix orders attribute names.
    #[inline]
    pub fn cmp_name(self, other: Symbol) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
