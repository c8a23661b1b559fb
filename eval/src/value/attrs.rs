//! Attribute sets. Small sets are a name-sorted array searched by symbol (a linear scan
//! over integers beats hashing at this size); large sets are persistent `imbl` maps so
//! `//` and `listToAttrs` over thousands of keys share structure instead of copying.

use std::cmp::Ordering;

use super::Value;
use crate::symbol::Symbol;

const SMALL_MAX: usize = 16;

/// Single-threaded persistent map (runtime values never cross threads).
type Map = imbl::GenericOrdMap<NameKey, Value, imbl::shared_ptr::RcK>;

/// A symbol ordered by its name, as Nix orders attribute names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NameKey(pub Symbol);

impl PartialOrd for NameKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for NameKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_name(other.0)
    }
}

#[derive(Clone)]
pub enum Attrs {
    Small(Vec<(Symbol, Value)>),
    Large(Map),
}

impl Default for Attrs {
    fn default() -> Self {
        Attrs::Small(Vec::new())
    }
}

impl Attrs {
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// From entries already sorted by name with no duplicates.
    pub fn from_sorted(v: Vec<(Symbol, Value)>) -> Attrs {
        if v.len() <= SMALL_MAX {
            Attrs::Small(v)
        } else {
            Attrs::Large(v.into_iter().map(|(k, v)| (NameKey(k), v)).collect())
        }
    }

    /// From arbitrary entries; a later duplicate replaces an earlier one.
    pub fn from_unsorted(mut v: Vec<(Symbol, Value)>) -> Attrs {
        if v.len() > SMALL_MAX {
            let mut m = Map::new();
            for (k, val) in v {
                m.insert(NameKey(k), val);
            }
            return Attrs::Large(m);
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
        Attrs::Small(out)
    }

    #[inline]
    pub fn get(&self, k: Symbol) -> Option<&Value> {
        match self {
            Attrs::Small(v) => v.iter().find(|e| e.0 == k).map(|e| &e.1),
            Attrs::Large(m) => m.get(&NameKey(k)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Attrs::Small(v) => v.len(),
            Attrs::Large(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn insert(&mut self, k: Symbol, val: Value) {
        match self {
            Attrs::Small(v) => {
                match v.binary_search_by(|e| e.0.cmp_name(k)) {
                    Ok(i) => v[i].1 = val,
                    Err(i) => v.insert(i, (k, val)),
                }
                if v.len() > SMALL_MAX {
                    let m = std::mem::take(v)
                        .into_iter()
                        .map(|(k, v)| (NameKey(k), v))
                        .collect();
                    *self = Attrs::Large(m);
                }
            }
            Attrs::Large(m) => {
                m.insert(NameKey(k), val);
            }
        }
    }

    pub fn remove(&mut self, k: Symbol) {
        match self {
            Attrs::Small(v) => v.retain(|e| e.0 != k),
            Attrs::Large(m) => {
                m.remove(&NameKey(k));
            }
        }
    }

    /// Entries in name order.
    pub fn iter(&self) -> AttrsIter<'_> {
        match self {
            Attrs::Small(v) => AttrsIter::Small(v.iter()),
            Attrs::Large(m) => AttrsIter::Large(m.iter()),
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
        match (self, other) {
            (Attrs::Small(a), Attrs::Small(b)) if a.len() + b.len() <= SMALL_MAX => {
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
                Attrs::Small(out)
            }
            _ => {
                // Insert the smaller side into a persistent copy of the larger one.
                let (mut base, add, right_wins) = match (self, other) {
                    (Attrs::Large(m), _) if m.len() >= other.len() => (m.clone(), other, true),
                    (_, Attrs::Large(m)) => (m.clone(), self, false),
                    _ => (self.to_map(), other, true),
                };
                for (k, v) in add.iter() {
                    if right_wins {
                        base.insert(NameKey(k), v.clone());
                    } else {
                        base.entry(NameKey(k)).or_insert_with(|| v.clone());
                    }
                }
                Attrs::Large(base)
            }
        }
    }

    fn to_map(&self) -> Map {
        match self {
            Attrs::Small(v) => v.iter().map(|(k, v)| (NameKey(*k), v.clone())).collect(),
            Attrs::Large(m) => m.clone(),
        }
    }

    pub fn ptr_id(&self) -> usize {
        self as *const Attrs as usize
    }
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
            AttrsIter::Large(it) => it.next().map(|(k, v)| (k.0, v)),
        }
    }
}

impl FromIterator<(Symbol, Value)> for Attrs {
    fn from_iter<T: IntoIterator<Item = (Symbol, Value)>>(iter: T) -> Self {
        Attrs::from_unsorted(iter.into_iter().collect())
    }
}

impl Drop for Attrs {
    fn drop(&mut self) {
        match self {
            Attrs::Small(v) => {
                if !v.iter().any(|(_, v)| super::frees_container(v)) {
                    return;
                }
                let v = std::mem::take(v);
                super::drop::defer(v.into_iter().map(|(_, v)| super::drop::Deferred::Value(v)));
            }
            // Persistent maps share their nodes, so walking them on every drop would cost
            // O(n) per `//`; long chains are made of small sets, which defer above.
            Attrs::Large(_) => {}
        }
    }
}
