//! Attribute sets. Small sets are a name-sorted array searched by symbol (a linear scan
//! over integers beats hashing at this size); large sets are persistent `imbl` maps so
//! `//` and `listToAttrs` over thousands of keys share structure instead of copying.

use std::cmp::Ordering;

use std::sync::Arc;

use super::Value;
use crate::attr_pos::AttrPos;
use crate::symbol::Symbol;

const SMALL_MAX: usize = 16;

/// Single-threaded persistent map (runtime values never cross threads).
type Map = imbl::GenericOrdMap<NameKey, Value, imbl::shared_ptr::RcK>;

/// A symbol ordered by its name, as Nix orders attribute names. The first eight bytes
/// of the name are kept beside the symbol, so that walking a large set compares
/// integers and reads the symbol table only for names sharing a prefix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NameKey {
    prefix: u64,
    sym: Symbol,
}

impl NameKey {
    #[inline]
    fn new(sym: Symbol) -> NameKey {
        NameKey {
            prefix: sym.name_prefix(),
            sym,
        }
    }
}

impl PartialOrd for NameKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for NameKey {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        match self.prefix.cmp(&other.prefix) {
            Ordering::Equal => self.sym.cmp_name(other.sym),
            o => o,
        }
    }
}

#[derive(Clone, Default)]
pub struct Attrs {
    entries: Entries,
    /// Where the attributes were defined (see `attr_pos`); `None` when unknown.
    pos: Option<Arc<AttrPos>>,
}

/// A small set's entries are a boxed slice, not a `Vec`: sets are rarely changed after
/// they are made, and the missing capacity word makes every set 8 bytes smaller.
#[derive(Clone)]
enum Entries {
    Small(Box<[(Symbol, Value)]>),
    /// Boxed, so that a set stays three words.
    Large(Box<Map>),
}

impl Default for Entries {
    fn default() -> Self {
        Entries::Small(Box::new([]))
    }
}

impl Attrs {
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// From entries already sorted by name with no duplicates.
    pub fn from_sorted(v: Vec<(Symbol, Value)>) -> Attrs {
        if v.len() <= SMALL_MAX {
            Attrs::of(Entries::Small(v.into_boxed_slice()))
        } else {
            Attrs::of(Entries::Large(Box::new(sorted_map(v))))
        }
    }

    /// From arbitrary entries; a later duplicate replaces an earlier one.
    pub fn from_unsorted(mut v: Vec<(Symbol, Value)>) -> Attrs {
        if v.len() > SMALL_MAX {
            let mut m = Map::new();
            for (k, val) in v {
                m.insert(NameKey::new(k), val);
            }
            return Attrs::of(Entries::Large(Box::new(m)));
        }
        // Stable sort keeps insertion order among equal keys; keep the last of each.
        v.sort_by(|a, b| a.0.cmp_name(b.0));
        let mut out: Vec<(Symbol, Value)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        Attrs::of(Entries::Small(out.into_boxed_slice()))
    }

    fn of(entries: Entries) -> Attrs {
        Attrs { entries, pos: None }
    }

    /// Record where the attributes were defined.
    pub fn with_pos(mut self, pos: Option<Arc<AttrPos>>) -> Attrs {
        self.pos = pos;
        self
    }

    /// Where the attributes were defined, if known.
    pub fn pos(&self) -> Option<&Arc<AttrPos>> {
        self.pos.as_ref()
    }

    #[inline]
    pub fn get(&self, k: Symbol) -> Option<&Value> {
        match &self.entries {
            Entries::Small(v) => v.iter().find(|e| e.0 == k).map(|e| &e.1),
            Entries::Large(m) => m.get(&NameKey::new(k)),
        }
    }

    pub fn len(&self) -> usize {
        match &self.entries {
            Entries::Small(v) => v.len(),
            Entries::Large(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add or replace an attribute. Its position is unknown, and recorded positions of
    /// the others are dropped with it (the caller re-attaches them if it knows better).
    pub fn insert(&mut self, k: Symbol, val: Value) {
        self.pos = None;
        match &mut self.entries {
            Entries::Small(b) => match b.binary_search_by(|e| e.0.cmp_name(k)) {
                Ok(i) => b[i].1 = val,
                Err(i) => {
                    let mut v = std::mem::take(b).into_vec();
                    v.insert(i, (k, val));
                    self.entries = if v.len() > SMALL_MAX {
                        Entries::Large(Box::new(sorted_map(v)))
                    } else {
                        Entries::Small(v.into_boxed_slice())
                    };
                }
            },
            Entries::Large(m) => {
                m.insert(NameKey::new(k), val);
            }
        }
    }

    pub fn remove(&mut self, k: Symbol) {
        match &mut self.entries {
            Entries::Small(b) => {
                if let Some(i) = b.iter().position(|e| e.0 == k) {
                    let mut v = std::mem::take(b).into_vec();
                    v.remove(i);
                    *b = v.into_boxed_slice();
                }
            }
            Entries::Large(m) => {
                m.remove(&NameKey::new(k));
            }
        }
    }

    /// Entries in name order.
    pub fn iter(&self) -> AttrsIter<'_> {
        match &self.entries {
            Entries::Small(v) => AttrsIter::Small(v.iter()),
            Entries::Large(m) => AttrsIter::Large(m.iter()),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = Symbol> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// `self // other`.
    pub fn update(&self, other: &Attrs) -> Attrs {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let pos = AttrPos::update(self.pos(), other.pos());
        self.update_entries(other).with_pos(pos)
    }

    fn update_entries(&self, other: &Attrs) -> Attrs {
        match (&self.entries, &other.entries) {
            (Entries::Small(a), Entries::Small(b)) if a.len() + b.len() <= SMALL_MAX => {
                let mut out = Vec::with_capacity(a.len() + b.len());
                let (mut i, mut j) = (0, 0);
                while i < a.len() && j < b.len() {
                    match a[i].0.cmp_name(b[j].0) {
                        Ordering::Less => {
                            out.push(a[i].clone());
                            i += 1
                        }
                        Ordering::Greater => {
                            out.push(b[j].clone());
                            j += 1
                        }
                        Ordering::Equal => {
                            out.push(b[j].clone());
                            i += 1;
                            j += 1
                        }
                    }
                }
                out.extend_from_slice(&a[i..]);
                out.extend_from_slice(&b[j..]);
                Attrs::of(Entries::Small(out.into_boxed_slice()))
            }
            _ => {
                // Insert the smaller side into a persistent copy of the larger one.
                let (mut base, add, right_wins) = match (&self.entries, &other.entries) {
                    (Entries::Large(m), _) if m.len() >= other.len() => {
                        (Map::clone(m), other, true)
                    }
                    (_, Entries::Large(m)) => (Map::clone(m), self, false),
                    _ => (self.to_map(), other, true),
                };
                for (k, v) in add.iter() {
                    if right_wins {
                        base.insert(NameKey::new(k), v.clone());
                    } else {
                        base.entry(NameKey::new(k)).or_insert_with(|| v.clone());
                    }
                }
                Attrs::of(Entries::Large(Box::new(base)))
            }
        }
    }

    fn to_map(&self) -> Map {
        match &self.entries {
            Entries::Small(v) => v
                .iter()
                .map(|(k, v)| (NameKey::new(*k), v.clone()))
                .collect(),
            Entries::Large(m) => Map::clone(m),
        }
    }

    pub fn ptr_id(&self) -> usize {
        self as *const Attrs as usize
    }
}

/// A large set from entries sorted by name.
#[cold]
fn sorted_map(v: Vec<(Symbol, Value)>) -> Map {
    v.into_iter().map(|(k, v)| (NameKey::new(k), v)).collect()
}

pub enum AttrsIter<'a> {
    Small(std::slice::Iter<'a, (Symbol, Value)>),
    Large(imbl::ordmap::Iter<'a, NameKey, Value, imbl::shared_ptr::RcK>),
}

impl<'a> Iterator for AttrsIter<'a> {
    type Item = (Symbol, &'a Value);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AttrsIter::Small(it) => it.next().map(|(k, v)| (*k, v)),
            AttrsIter::Large(it) => it.next().map(|(k, v)| (k.sym, v)),
        }
    }
}

impl FromIterator<(Symbol, Value)> for Attrs {
    fn from_iter<T: IntoIterator<Item = (Symbol, Value)>>(iter: T) -> Self {
        Attrs::from_unsorted(iter.into_iter().collect())
    }
}

impl Drop for Attrs {
    #[inline]
    fn drop(&mut self) {
        if !self.is_empty() {
            super::drop::release(std::mem::take(&mut self.entries));
        }
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn positions_cost_one_pointer_per_set() {
        use std::mem::size_of;
        assert_eq!(
            size_of::<super::Attrs>(),
            size_of::<super::Entries>() + size_of::<usize>()
        );
    }

    /// A set is three words (entries, length, positions), which `Rc` puts in a
    /// five-word block.
    #[test]
    fn a_set_is_three_words() {
        assert_eq!(
            std::mem::size_of::<super::Attrs>(),
            3 * std::mem::size_of::<usize>()
        );
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
