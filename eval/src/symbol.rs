//! Interned identifiers and attribute names: `Symbol(u32)`, compared as integers.
//!
//! The table is global (so compiled files that mention symbols are `Send + Sync` and can
//! be shared between threads) with a per-thread cache in front, so the hot paths (lookup
//! of a symbol's text, interning a name already seen) take no lock.

use std::cell::RefCell;
use std::collections::HashMap;
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

#[derive(Default)]
struct Local {
    names: Vec<&'static str>,
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
                id
            }
        };
        let name = Symbol(id).as_str();
        LOCAL.with(|l| l.borrow_mut().map.insert(name, id));
        Symbol(id)
    }

    pub fn as_str(self) -> &'static str {
        let hit = LOCAL.with(|l| l.borrow().names.get(self.0 as usize).copied());
        if let Some(s) = hit {
            return s;
        }
        // Copy only the names this thread has not seen yet.
        let g = global().lock().unwrap_or_else(|e| e.into_inner());
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            let have = l.names.len();
            l.names.extend_from_slice(&g.names[have..]);
            l.names[self.0 as usize]
        })
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
