//! Where the attributes of a set were defined, for `builtins.unsafeGetAttrPos`.
//!
//! Positions are not stored per attribute: the compiler makes one [`AttrPos`] per
//! attribute set construction site (a literal, a `rec` set, the formals of a lambda),
//! and a set built there points at it (one pointer per set). `//` combines the
//! positions of its two sides into a small node, so positions survive overlays the way
//! C++ Nix keeps them per attribute.

use std::sync::Arc;

use crate::compiled::{SourceFile, Span};
use crate::errors::Location;
use crate::symbol::Symbol;
use crate::value::{Attrs, NixString, Value};

/// How many `//` nodes a position chain may hold. Deeper chains (a fold of `//` over
/// many sets) drop their positions instead of growing a long list that would make
/// lookups slow and dropping deeply recursive.
const MAX_UPDATE_DEPTH: u32 = 32;

#[derive(Debug)]
pub enum AttrPos {
    /// The attributes defined at one place in one file.
    Site {
        file: Arc<SourceFile>,
        /// Sorted by name (as `Symbol::cmp_name` orders them).
        entries: Box<[(Symbol, Span)]>,
        /// Every attribute of a set made here is listed (no dynamic names).
        complete: bool,
    },
    /// `left // right`: a name defined on the right shadows the left.
    Update {
        left: Arc<AttrPos>,
        right: Arc<AttrPos>,
        depth: u32,
    },
}

impl AttrPos {
    /// A construction site; `entries` need not be sorted.
    pub fn site(file: Arc<SourceFile>, mut entries: Vec<(Symbol, Span)>, complete: bool) -> Self {
        entries.sort_by(|a, b| a.0.cmp_name(b.0));
        AttrPos::Site {
            file,
            entries: entries.into_boxed_slice(),
            complete,
        }
    }

    /// Does this cover every attribute of the set it belongs to?
    fn complete(&self) -> bool {
        match self {
            AttrPos::Site { complete, .. } => *complete,
            AttrPos::Update { left, right, .. } => left.complete() && right.complete(),
        }
    }

    fn depth(&self) -> u32 {
        match self {
            AttrPos::Site { .. } => 0,
            AttrPos::Update { depth, .. } => *depth,
        }
    }

    /// Where `name` was defined, if known.
    pub fn lookup(&self, name: Symbol) -> Option<Location> {
        let mut node = self;
        loop {
            match node {
                AttrPos::Site { file, entries, .. } => {
                    let i = entries.binary_search_by(|e| e.0.cmp_name(name)).ok()?;
                    return Some(Location {
                        file: file.clone(),
                        span: entries[i].1,
                    });
                }
                AttrPos::Update { left, right, .. } => {
                    if let Some(l) = right.lookup(name) {
                        return Some(l);
                    }
                    // The right side may hold `name` under a dynamic key we did not
                    // record; then the left side's position would be stale.
                    if !right.complete() {
                        return None;
                    }
                    node = left;
                }
            }
        }
    }

    /// Is this the node of `left // right`?
    fn has_sides(&self, left: &Arc<AttrPos>, right: &Arc<AttrPos>) -> bool {
        matches!(self, AttrPos::Update { left: l, right: r, .. }
            if Arc::ptr_eq(l, left) && Arc::ptr_eq(r, right))
    }

    /// The positions of `left // right`, where both sides are non-empty. The same two
    /// sides (a `//` in a function, called again and again) give the same node, kept
    /// in a small table of recent ones instead of being allocated anew each time.
    pub fn update(left: Option<&Arc<AttrPos>>, right: Option<&Arc<AttrPos>>) -> Option<Arc<Self>> {
        let (left, right) = (left?, right?);
        let depth = left.depth().max(right.depth()) + 1;
        if depth > MAX_UPDATE_DEPTH {
            return None;
        }
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            let slot = &mut recent[recent_slot(left, right)];
            if let Some(u) = slot.as_ref().filter(|u| u.has_sides(left, right)) {
                return Some(u.clone());
            }
            let u = Arc::new(AttrPos::Update {
                left: left.clone(),
                right: right.clone(),
                depth,
            });
            *slot = Some(u.clone());
            Some(u)
        })
    }
}

/// How many recent `//` nodes are kept. The nodes they keep alive are few and small;
/// their sides are alive as long as a node is (so their addresses are not reused).
const RECENT_UPDATES: usize = 64;

thread_local! {
    static RECENT: std::cell::RefCell<[Option<Arc<AttrPos>>; RECENT_UPDATES]> =
        const { std::cell::RefCell::new([const { None }; RECENT_UPDATES]) };
}

/// The table slot for the node of `left // right`.
fn recent_slot(left: &Arc<AttrPos>, right: &Arc<AttrPos>) -> usize {
    let (l, r) = (Arc::as_ptr(left) as usize, Arc::as_ptr(right) as usize);
    let h = (l ^ r.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 58) % RECENT_UPDATES
}

/// `{ column; file; line; }` for a position, as `unsafeGetAttrPos` and `__curPos`
/// give it.
pub fn position_value(loc: &Location) -> Value {
    let (line, col) = loc.line_col();
    Value::attrs(Attrs::from_unsorted(vec![
        (Symbol::intern("column"), Value::Int(col as i64)),
        (
            Symbol::intern("file"),
            Value::String(NixString::from(loc.file.name.as_str())),
        ),
        (Symbol::intern("line"), Value::Int(line as i64)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file() -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: "/t.nix".into(),
            text: "0123456789".into(),
            dir: PathBuf::from("/"),
        })
    }

    fn sp(n: u32) -> Span {
        Span {
            start: n,
            end: n + 1,
        }
    }

    #[test]
    fn update_prefers_the_right_side_and_stops_at_incomplete_sites() {
        let (a, b, c) = (
            Symbol::intern("a"),
            Symbol::intern("b"),
            Symbol::intern("c"),
        );
        let left = Arc::new(AttrPos::site(file(), vec![(b, sp(1)), (a, sp(0))], true));
        let right = Arc::new(AttrPos::site(file(), vec![(b, sp(5))], true));
        let u = AttrPos::update(Some(&left), Some(&right)).unwrap();
        assert_eq!(u.lookup(a).unwrap().span, sp(0));
        assert_eq!(u.lookup(b).unwrap().span, sp(5));
        assert!(u.lookup(c).is_none());
        let partial = Arc::new(AttrPos::site(file(), vec![(c, sp(7))], false));
        let u2 = AttrPos::update(Some(&left), Some(&partial)).unwrap();
        assert!(
            u2.lookup(a).is_none(),
            "a dynamic key on the right may shadow a"
        );
        assert_eq!(u2.lookup(c).unwrap().span, sp(7));
        assert!(AttrPos::update(None, Some(&right)).is_none());
    }

    #[test]
    fn long_update_chains_give_up_instead_of_growing() {
        let a = Symbol::intern("a");
        let mut p = Arc::new(AttrPos::site(file(), vec![(a, sp(0))], true));
        let mut n = 0;
        while let Some(next) = AttrPos::update(Some(&p), Some(&p)) {
            p = next;
            n += 1;
        }
        assert_eq!(n, MAX_UPDATE_DEPTH);
    }
}
