//! The keys `genericClosure` has seen. C++ Nix keeps them in a set ordered by `<`, so
//! keys that cannot be compared are an error. Nearly always every key is a string (or
//! every key an int): those are hashed, which gives the same answers as the order (two
//! strings or two ints are equal exactly when neither is less); the first key of any
//! other kind turns the set into the ordered one, which then compares as before.

use super::compare::lt_evaluated;
use crate::errors::R;
use crate::value::{NixString, Value};
use rustc_hash::FxHashSet;
use std::hash::{Hash, Hasher};

pub enum ClosureKeys {
    Strings(FxHashSet<ByBytes>),
    Ints(FxHashSet<i64>),
    /// Deeply forced, in `<` order.
    Ordered(Vec<Value>),
}

/// A string key, equal and hashed by its bytes (as `<` compares them: context aside).
pub struct ByBytes(NixString);

impl PartialEq for ByBytes {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes() == other.0.as_bytes()
    }
}

impl Eq for ByBytes {}

impl Hash for ByBytes {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.as_bytes().hash(h)
    }
}

impl Default for ClosureKeys {
    fn default() -> Self {
        ClosureKeys::Ordered(Vec::new())
    }
}

impl ClosureKeys {
    /// Add the deeply forced `key`: whether it is new.
    pub fn insert(&mut self, key: Value) -> R<bool> {
        // An evaluated thunk stands for its value.
        let key = match key {
            Value::Thunk(t) => t.value().unwrap_or(Value::Thunk(t)),
            key => key,
        };
        match (&mut *self, key) {
            (ClosureKeys::Strings(s), Value::String(k)) => Ok(s.insert(ByBytes(k))),
            (ClosureKeys::Ints(s), Value::Int(i)) => Ok(s.insert(i)),
            (ClosureKeys::Ordered(v), key) if v.is_empty() => {
                *self = match key {
                    Value::String(k) => ClosureKeys::Strings(FxHashSet::from_iter([ByBytes(k)])),
                    Value::Int(i) => ClosureKeys::Ints(FxHashSet::from_iter([i])),
                    key => ClosureKeys::Ordered(vec![key]),
                };
                Ok(true)
            }
            (ClosureKeys::Ordered(v), key) => insert_ordered(v, key),
            (_, key) => {
                let mut v = self.take_ordered();
                let new = insert_ordered(&mut v, key);
                *self = ClosureKeys::Ordered(v);
                new
            }
        }
    }

    /// The keys in `<` order (leaving the set empty).
    fn take_ordered(&mut self) -> Vec<Value> {
        match std::mem::take(self) {
            ClosureKeys::Strings(s) => {
                let mut v: Vec<NixString> = s.into_iter().map(|k| k.0).collect();
                v.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
                v.into_iter().map(Value::String).collect()
            }
            ClosureKeys::Ints(s) => {
                let mut v: Vec<i64> = s.into_iter().collect();
                v.sort_unstable();
                v.into_iter().map(Value::Int).collect()
            }
            ClosureKeys::Ordered(v) => v,
        }
    }
}

/// Binary search with `<`, as C++ Nix's ordered set does (the new key on the left, so
/// errors name the kinds in its order): an error for a key that cannot be compared
/// with those it meets.
fn insert_ordered(keys: &mut Vec<Value>, key: Value) -> R<bool> {
    // The first key greater than `key`; the one before it is not less, so equal
    // unless it is less.
    let (mut lo, mut hi) = (0, keys.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if lt_evaluated(&key, &keys[mid])? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo > 0 && !lt_evaluated(&keys[lo - 1], &key)? {
        return Ok(false);
    }
    keys.insert(lo, key);
    Ok(true)
}
