//! Attribute set builtins.

use std::sync::Arc;

use super::{attrs, string, Registry};
use crate::attr_pos::{position_value, AttrPos};
use crate::builtins::lists::ForcedElems;
use crate::compiled::Proto;
use crate::errors::{ErrorKind, R};
use crate::generators::{arrived_or_force, Machine, MachineStep};
use crate::symbol::{NameKey, Symbol};
use crate::value::{Attrs, NixList, NixString, Thunk, Value};

fn name_value(k: Symbol) -> Value {
    Value::String(NixString::of_symbol(k))
}

/// `removeAttrs set names`: forces the set, then the list, then each name in turn.
struct RemoveAttrs {
    /// The set, until it is forced.
    arg: Value,
    set: Option<Attrs>,
    names: ForcedElems,
    syms: Vec<Symbol>,
}

impl Machine for RemoveAttrs {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        if self.set.is_none() {
            let v = match arrived_or_force(&mut last, &mut self.arg) {
                Ok(v) => v,
                Err(step) => return Ok(step),
            };
            self.set = Some(attrs(&v)?.clone());
        }
        let syms = &mut self.syms;
        let step = self.names.step(last, |n| {
            syms.push(string(&n)?.to_symbol());
            Ok(())
        })?;
        if let Some(step) = step {
            return Ok(step);
        }
        let set = self.set.as_ref().expect("forced above");
        Ok(MachineStep::Done(Value::attrs(set.without(syms))))
    }
}

fn remove_attrs(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(RemoveAttrs {
        arg: std::mem::take(&mut a[0]),
        set: None,
        names: ForcedElems::new(std::mem::take(&mut a[1])),
        syms: Vec::new(),
    })
}

/// `catAttrs name sets`: forces the name, then the list, then each set in turn.
struct CatAttrs {
    /// The name, until it is forced.
    arg: Value,
    name: Option<Symbol>,
    sets: ForcedElems,
    out: Vec<Value>,
}

impl Machine for CatAttrs {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        let name = match self.name {
            Some(name) => name,
            None => {
                let v = match arrived_or_force(&mut last, &mut self.arg) {
                    Ok(v) => v,
                    Err(step) => return Ok(step),
                };
                *self.name.insert(string(&v)?.to_symbol())
            }
        };
        let out = &mut self.out;
        let step = self.sets.step(last, |e| {
            if let Some(v) = attrs(&e)?.get(name) {
                out.push(v.clone());
            }
            Ok(())
        })?;
        Ok(step.unwrap_or_else(|| MachineStep::Done(Value::list(std::mem::take(out)))))
    }
}

fn cat_attrs(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(CatAttrs {
        arg: std::mem::take(&mut a[0]),
        name: None,
        sets: ForcedElems::new(std::mem::take(&mut a[1])),
        out: Vec::new(),
    })
}

/// `zipAttrsWith f sets`: the values of each name across the sets, in order, handed to
/// `f name values` lazily. Grouped by symbol, put in name order once at the end.
struct ZipAttrsWith {
    /// The argument until it is a function: C++ Nix forces and checks it before the
    /// list, so that with both failing its error is the one, and even for an empty list.
    f: Value,
    sets: ForcedElems,
    groups: Groups,
}

/// The names seen so far and their values.
#[derive(Default)]
struct Groups {
    /// Each name's group, once there are more than `SCAN` (integer hashing).
    index: rustc_hash::FxHashMap<Symbol, usize>,
    groups: Vec<Group>,
    /// How many more values the groups' vectors may be given room for ahead of need
    /// (see `Group::add`): four per set, so that guesses cost little memory at worst.
    budget: usize,
}

/// Up to this many names, a name's group is found by a scan (symbols compare as
/// integers): most calls (the module system's merges) see a handful of names, for
/// which building a hash index costs more than it saves.
const SCAN: usize = 8;

/// A name's values across the sets, in order.
struct Group {
    /// The name with its prefix, read once, not at each comparison of the final sort.
    key: NameKey,
    /// The first value, alone while it is the only one: most names are in one of the
    /// sets, and then no vector is allocated for them.
    first: Value,
    /// Every value, once there are two.
    all: Vec<Value>,
    /// The index of the set `first` came from.
    first_at: usize,
}

impl Group {
    /// Add the value `v` from set `at` of `len`. At the second value the vector gets
    /// room for as many as the rest of the sets hold at the pace of the first two (a
    /// name in every set, or every few, then never grows it), within `budget`.
    fn add(&mut self, v: &Value, at: usize, len: usize, budget: &mut usize) {
        if self.all.is_empty() {
            let gap = at.saturating_sub(self.first_at).max(1);
            let guess = len.saturating_sub(self.first_at).div_ceil(gap).max(2);
            let room = if guess <= *budget {
                *budget -= guess;
                guess
            } else {
                2
            };
            self.all = Vec::with_capacity(room);
            self.all.push(std::mem::take(&mut self.first));
        }
        self.all.push(v.clone());
    }
}

impl Groups {
    /// Add `v` to the group of `k`; `v` is from set `at` of `len`.
    fn add(&mut self, k: Symbol, v: &Value, at: usize, len: usize) {
        let (index, groups) = (&mut self.index, &mut self.groups);
        let n = groups.len();
        let found = if n <= SCAN {
            let found = groups.iter().position(|g| g.key.sym() == k);
            if found.is_none() && n == SCAN {
                // From now on the index is used: it gets every name, this one included.
                index.extend(groups.iter().enumerate().map(|(i, g)| (g.key.sym(), i)));
                index.insert(k, n);
            }
            found
        } else {
            let i = *index.entry(k).or_insert(n);
            Some(i).filter(|&i| i < n)
        };
        match found {
            Some(i) => groups[i].add(v, at, len, &mut self.budget),
            None => groups.push(Group {
                key: NameKey::new(k),
                first: v.clone(),
                all: Vec::new(),
                first_at: at,
            }),
        }
    }
}

impl Machine for ZipAttrsWith {
    fn resume(&mut self, mut last: Option<Value>) -> R<MachineStep> {
        if !self.f.is_function() {
            let f = match arrived_or_force(&mut last, &mut self.f) {
                Ok(v) => v,
                Err(step) => return Ok(step),
            };
            super::function(&f)?;
            self.f = f;
        }
        let g = &mut self.groups;
        let step = self.sets.step_at(last, |e, at, len| {
            let set = attrs(&e)?;
            if at == 0 {
                // Room for the first set's names at once, rather than growing to it.
                g.groups.reserve(set.len());
                g.budget = len.saturating_mul(4);
            }
            for (k, v) in set.iter() {
                g.add(k, v, at, len);
            }
            Ok(())
        })?;
        if let Some(step) = step {
            return Ok(step);
        }
        let mut groups = std::mem::take(&mut g.groups);
        groups.sort_unstable_by_key(|g| g.key);
        let entries = groups
            .into_iter()
            .map(|g| {
                let k = g.key.sym();
                let vs = if g.all.is_empty() {
                    NixList::one(g.first)
                } else {
                    NixList::from_vec(g.all)
                };
                (
                    k,
                    Value::Thunk(Thunk::apply_name(&self.f, k, Value::List(vs))),
                )
            })
            .collect();
        Ok(MachineStep::Done(Value::attrs(Attrs::from_sorted(entries))))
    }
}

fn zip_attrs_with(a: &mut [Value]) -> Box<dyn Machine> {
    Box::new(ZipAttrsWith {
        f: std::mem::take(&mut a[0]),
        sets: ForcedElems::new(std::mem::take(&mut a[1])),
        groups: Groups::default(),
    })
}

fn function_args(v: &Value) -> R<Value> {
    match v {
        Value::Closure(c) => {
            let entries = match c.proto.lambda.as_ref().and_then(|l| l.formals.as_ref()) {
                Some(f) => f
                    .entries
                    .iter()
                    .zip(&f.has_default)
                    .map(|((s, _), d)| (*s, Value::Bool(*d)))
                    .collect(),
                None => Vec::new(),
            };
            Ok(Value::attrs(
                Attrs::from_unsorted(entries).with_pos(formals_pos(&c.proto)),
            ))
        }
        Value::Builtin(_) => Ok(Value::attrs(Attrs::new())),
        other => Err(crate::generators::type_error("a function", other)),
    }
}

/// Positions of a lambda's formals, for the set `functionArgs` makes of them.
fn formals_pos(proto: &Proto) -> Option<Arc<AttrPos>> {
    let formals = proto.lambda.as_ref()?.formals.as_ref()?;
    let entries = formals
        .entries
        .iter()
        .filter_map(|(s, span)| Some((*s, (*span)?)))
        .collect();
    Some(Arc::new(AttrPos::site(proto.file.clone(), entries, true)))
}

fn unsafe_get_attr_pos(a: &[Value]) -> R<Value> {
    let name = string(&a[0])?.to_symbol();
    let set = attrs(&a[1])?;
    if set.get(name).is_none() {
        return Ok(Value::Null);
    }
    Ok(set
        .pos()
        .and_then(|p| p.lookup(name))
        .map_or(Value::Null, |loc| position_value(&loc)))
}

fn attr_names(a: &[Value]) -> R<Value> {
    Ok(Value::List(attrs(&a[0])?.keys().map(name_value).collect()))
}

fn attr_values(a: &[Value]) -> R<Value> {
    Ok(Value::List(
        attrs(&a[0])?.iter().map(|(_, v)| v.clone()).collect(),
    ))
}

pub fn register(r: &mut Registry) {
    r.plain_quick("attrNames", 1, |_, a| attr_names(a), |a| attr_names(a).ok());
    r.plain_quick(
        "attrValues",
        1,
        |_, a| attr_values(a),
        |a| attr_values(a).ok(),
    );
    r.plain_checked("getAttr", 2, super::string_first, |_, a| {
        let name = string(&a[0])?;
        match attrs(&a[1])?.get(name.to_symbol()) {
            Some(v) => Ok(v.clone()),
            None => Err(ErrorKind::AttributeMissing {
                name: name.to_str_lossy().into_owned(),
                suggestion: None,
            }
            .into()),
        }
    });
    r.plain_checked("hasAttr", 2, super::string_first, |_, a| {
        let name = string(&a[0])?;
        Ok(Value::Bool(attrs(&a[1])?.get(name.to_symbol()).is_some()))
    });
    r.machine("removeAttrs", 2, remove_attrs);
    r.plain_checked("intersectAttrs", 2, super::attrs_first, |_, a| {
        let (x, y) = (attrs(&a[0])?, attrs(&a[1])?);
        let out: Vec<_> = y
            .iter()
            .filter(|(k, _)| x.get(*k).is_some())
            .map(|(k, v)| (k, v.clone()))
            .collect();
        // Every attribute comes from `y`, so its positions still hold.
        Ok(Value::attrs(
            Attrs::from_sorted(out).with_pos(y.pos().cloned()),
        ))
    });
    r.plain_mask("mapAttrs", 2, 0b10, |_, a| {
        let f = &a[0];
        let set = attrs(&a[1])?;
        let out = set
            .iter()
            .map(|(k, v)| (k, Value::Thunk(Thunk::apply_name(f, k, v.clone()))));
        Ok(Value::attrs(Attrs::build(set.len(), out)))
    });
    r.machine("catAttrs", 2, cat_attrs);
    r.machine("zipAttrsWith", 2, zip_attrs_with);
    r.plain("functionArgs", 1, |_, a| function_args(&a[0]));
    r.plain("unsafeGetAttrPos", 2, |_, a| unsafe_get_attr_pos(a));
}
