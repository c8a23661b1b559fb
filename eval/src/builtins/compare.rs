//! Equality and ordering, as `==` and `<` define them.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use super::{sym, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{
    force, forced_or_step, known, known_or_step, run_machine, with_whnf, Co, GenFuture, Generator,
    Machine, MachineStep,
};
use crate::value::{Attrs, NixList, Value};

/// Equality decided without forcing anything; `None` when elements must be compared.
pub fn shallow_eq(a: &Value, b: &Value) -> Option<bool> {
    Some(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(x), Value::Float(y)) => (*x as f64) == *y,
        (Value::Float(x), Value::Int(y)) => *x == (*y as f64),
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x.as_bytes() == y.as_bytes(),
        (Value::Path(x), Value::Path(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            if NixList::ptr_eq(x, y) || (x.is_empty() && y.is_empty()) {
                true
            } else if x.len() != y.len() {
                false
            } else {
                return None;
            }
        }
        (Value::Attrs(x), Value::Attrs(y)) => {
            if Attrs::ptr_eq(x, y) {
                true
            } else if x.len() != y.len()
                && (x.get(sym::type_()).is_none() || y.get(sym::type_()).is_none())
            {
                false
            } else {
                return None;
            }
        }
        _ => false,
    })
}

/// The same value, by identity (C++ Nix's shortcut for list elements and attributes).
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Thunk(x), Value::Thunk(y)) => crate::value::Thunk::ptr_eq(x, y),
        (Value::Closure(x), Value::Closure(y)) => Rc::ptr_eq(x, y),
        (Value::Builtin(x), Value::Builtin(y)) => Rc::ptr_eq(x, y),
        (Value::Attrs(x), Value::Attrs(y)) => Attrs::ptr_eq(x, y),
        (Value::List(x), Value::List(y)) => NixList::ptr_eq(x, y),
        _ => false,
    }
}

/// How deep `flat_eq` follows nested sets and lists before leaving them to the work list
/// (it recurses on the Rust stack).
const FLAT_DEPTH: u32 = 8;

/// Equality settled without forcing anything, when it can be: `elem` over records of
/// evaluated scalars and nested records. Sets with a `type` attribute are left to the
/// loop (they may be derivations, compared by `outPath` once `type` is forced). Pairs
/// are visited in the loop's order, and a pair that needs forcing gives up (`None`)
/// before any later pair may answer `false`, so what is forced, and in which order,
/// stays that of `deep_eq`'s loop.
fn flat_eq(a: &Value, b: &Value, depth: u32) -> Option<bool> {
    if identical(a, b) {
        return Some(true);
    }
    if depth == 0 {
        return None;
    }
    with_whnf(a, |a| with_whnf(b, |b| flat_eq_values(a, b, depth)))
}

/// `flat_eq` of two values in weak head normal form.
fn flat_eq_values(a: &Value, b: &Value, depth: u32) -> Option<bool> {
    match (a, b) {
        (Value::Attrs(x), Value::Attrs(y)) if !Attrs::ptr_eq(x, y) => {
            if x.get(sym::type_()).is_some() || y.get(sym::type_()).is_some() {
                return None;
            }
            if x.len() != y.len() {
                return Some(false);
            }
            // Names first, as the loop compares them all before any value.
            if !x.keys().eq(y.keys()) {
                return Some(false);
            }
            for ((_, v1), (_, v2)) in x.iter().zip(y.iter()) {
                if !flat_eq(v1, v2, depth - 1)? {
                    return Some(false);
                }
            }
            Some(true)
        }
        (Value::List(x), Value::List(y)) if !NixList::ptr_eq(x, y) && x.len() == y.len() => {
            for (p, q) in x.iter().zip(y.iter()) {
                if !flat_eq(p, q, depth - 1)? {
                    return Some(false);
                }
            }
            Some(true)
        }
        _ => shallow_eq(a, b),
    }
}

/// Equality settled without forcing anything (see `flat_eq`), for a builtin's quick
/// path; `None` when it must run `deep_eq`.
pub fn quick_eq(a: &Value, b: &Value) -> Option<bool> {
    flat_eq(a, b, FLAT_DEPTH)
}

/// Deep equality: `flat_eq` when nothing needs forcing, else `DeepEq` on the VM's stack.
pub async fn deep_eq(co: &Co, a: Value, b: Value) -> R<bool> {
    // Most comparisons (`elem` over strings and plain records, `==` of numbers) settle
    // right here, without a work list.
    if let Some(eq) = flat_eq(&a, &b, FLAT_DEPTH) {
        return Ok(eq);
    }
    let r = run_machine(co, "==", Box::new(DeepEq::new(a, b, false))).await?;
    Ok(matches!(r, Value::Bool(true)))
}

/// Deep equality as a machine: a work list of pairs, each side forced in turn (`a`
/// first). Sets that are both derivations compare by `outPath`. A generator resumed
/// once per forced element cost several hundred instructions more per element.
pub struct DeepEq {
    work: Vec<Work>,
    wait: Wait,
    negate: bool,
}

/// What is left to compare, the next pair on top.
enum Work {
    Pair(Value, Value),
    /// The elements of two lists of the same length from index `.2` on: one item for the
    /// whole pair of lists rather than one per element.
    Lists(NixList, NixList, usize),
}

/// What the machine asked the VM to force, with the rest of the pair.
enum Wait {
    /// Nothing: take the next pair.
    Next,
    /// `a`, given `b` unforced.
    A(Value),
    /// `b`, given `a` forced.
    B(Value),
    /// `a`'s `type` (both sides are sets).
    TypeA(Value, Value),
    /// `b`'s `type` (`a` is a derivation).
    TypeB(Value, Value),
}

type Step = R<Option<MachineStep>>;

impl DeepEq {
    pub fn new(a: Value, b: Value, negate: bool) -> Self {
        DeepEq {
            work: vec![Work::Pair(a, b)],
            wait: Wait::Next,
            negate,
        }
    }

    /// Begin again, comparing `a` with `b` (keeps the work list's allocation).
    pub fn restart(&mut self, a: Value, b: Value) {
        self.work.clear();
        self.work.push(Work::Pair(a, b));
        self.wait = Wait::Next;
    }

    fn ask(&mut self, wait: Wait, s: MachineStep) -> Step {
        self.wait = wait;
        Ok(Some(s))
    }

    fn pair(&mut self, a: Value, b: Value) -> Step {
        match forced_or_step(a) {
            Ok(a) => self.forced_a(a, b),
            Err(s) => self.ask(Wait::A(b), s),
        }
    }

    fn forced_a(&mut self, a: Value, b: Value) -> Step {
        match forced_or_step(b) {
            Ok(b) => self.forced(a, b),
            Err(s) => self.ask(Wait::B(a), s),
        }
    }

    fn forced(&mut self, a: Value, b: Value) -> Step {
        if let (Value::Attrs(x), Value::Attrs(_)) = (&a, &b) {
            if let Some(t) = x.get(sym::type_()) {
                return match known_or_step(t) {
                    Ok(t) => self.type_a(a, b, t),
                    Err(s) => self.ask(Wait::TypeA(a, b), s),
                };
            }
        }
        self.compare(a, b)
    }

    fn type_a(&mut self, a: Value, b: Value, t: Value) -> Step {
        if is_drv_type(&t) {
            if let Value::Attrs(y) = &b {
                if let Some(t) = y.get(sym::type_()) {
                    return match known_or_step(t) {
                        Ok(t) => self.type_b(a, b, t),
                        Err(s) => self.ask(Wait::TypeB(a, b), s),
                    };
                }
            }
        }
        self.compare(a, b)
    }

    fn type_b(&mut self, a: Value, b: Value, t: Value) -> Step {
        if is_drv_type(&t) {
            if let (Value::Attrs(x), Value::Attrs(y)) = (&a, &b) {
                if let (Some(p), Some(q)) = (x.get(sym::out_path()), y.get(sym::out_path())) {
                    self.work.push(Work::Pair(p.clone(), q.clone()));
                    return Ok(None);
                }
            }
        }
        self.compare(a, b)
    }

    /// Both sides forced: settled here, or their elements queued in order.
    fn compare(&mut self, a: Value, b: Value) -> Step {
        match shallow_eq(&a, &b) {
            Some(true) => {}
            Some(false) => return Ok(Some(self.answer(false))),
            None => match (&a, &b) {
                (Value::List(x), Value::List(y)) => {
                    self.work.push(Work::Lists(x.clone(), y.clone(), 0));
                }
                (Value::Attrs(x), Value::Attrs(y)) => {
                    if x.len() != y.len() || !x.keys().eq(y.keys()) {
                        return Ok(Some(self.answer(false)));
                    }
                    let at = self.work.len();
                    for ((_, v1), (_, v2)) in x.iter().zip(y.iter()) {
                        self.work.push(Work::Pair(v1.clone(), v2.clone()));
                    }
                    self.work[at..].reverse();
                }
                _ => return Ok(Some(self.answer(false))),
            },
        }
        Ok(None)
    }

    fn answer(&self, eq: bool) -> MachineStep {
        MachineStep::Done(Value::Bool(eq != self.negate))
    }
}

fn is_drv_type(t: &Value) -> bool {
    matches!(t, Value::String(s) if s.as_bytes() == b"derivation")
}

impl Machine for DeepEq {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        let mut last = last;
        loop {
            let wait = std::mem::replace(&mut self.wait, Wait::Next);
            let step = if matches!(wait, Wait::Next) {
                let (a, b) = match self.work.last_mut() {
                    None => return Ok(self.answer(true)),
                    Some(Work::Lists(x, y, i)) => {
                        let (Some(p), Some(q)) = (x.get(*i), y.get(*i)) else {
                            self.work.pop();
                            continue;
                        };
                        *i += 1;
                        if identical(p, q) {
                            continue;
                        }
                        (known(p), known(q))
                    }
                    Some(Work::Pair(..)) => match self.work.pop() {
                        Some(Work::Pair(a, b)) if !identical(&a, &b) => (a, b),
                        _ => continue,
                    },
                };
                self.pair(a, b)?
            } else {
                let Some(v) = last.take() else {
                    return Err(
                        ErrorKind::other("internal error: == resumed without a value").into(),
                    );
                };
                match wait {
                    Wait::A(b) => self.forced_a(v, b)?,
                    Wait::B(a) => self.forced(a, v)?,
                    Wait::TypeA(a, b) => self.type_a(a, b, v)?,
                    Wait::TypeB(a, b) => self.type_b(a, b, v)?,
                    Wait::Next => None,
                }
            };
            if let Some(s) = step {
                return Ok(s);
            }
        }
    }
}

fn cannot_compare(a: &Value, b: &Value) -> ErrorKind {
    ErrorKind::other(format!(
        "cannot compare {} with {}",
        a.describe(),
        b.describe()
    ))
}

/// `a < b` without forcing; `None` for lists.
pub fn shallow_lt(a: &Value, b: &Value) -> R<Option<bool>> {
    Ok(Some(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Int(x), Value::Float(y)) => (*x as f64) < *y,
        (Value::Float(x), Value::Int(y)) => *x < (*y as f64),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x.as_bytes() < y.as_bytes(),
        (Value::Path(x), Value::Path(y)) => x.as_os_str() < y.as_os_str(),
        (Value::List(_), Value::List(_)) => return Ok(None),
        _ => return Err(cannot_compare(a, b).into()),
    }))
}

/// `lt` of two values forced deeply (every thunk in them evaluated, as
/// `genericClosure`'s keys are): the same answer and errors, with nothing to force, so
/// without the VM. Lists compare element by element, as `lt` does.
pub fn lt_evaluated(a: &Value, b: &Value) -> R<bool> {
    let (mut a, mut b) = (known(a), known(b));
    loop {
        if let Some(r) = shallow_lt(&a, &b)? {
            return Ok(r);
        }
        let (Value::List(x), Value::List(y)) = (&a, &b) else {
            return Err(not_evaluated().into());
        };
        let mut differ = None;
        for (p, q) in x.iter().zip(y.iter()) {
            if !eq_evaluated(p, q)? {
                differ = Some((known(p), known(q)));
                break;
            }
        }
        match differ {
            Some(pq) => (a, b) = pq,
            None => return Ok(x.len() < y.len()),
        }
    }
}

/// `deep_eq` of values forced deeply: `DeepEq` stepped here, each value it asks to have
/// forced already evaluated.
fn eq_evaluated(a: &Value, b: &Value) -> R<bool> {
    if let Some(eq) = quick_eq(a, b) {
        return Ok(eq);
    }
    let mut m = DeepEq::new(a.clone(), b.clone(), false);
    let mut last = None;
    loop {
        match m.resume(last.take())? {
            MachineStep::Done(v) => return Ok(matches!(v, Value::Bool(true))),
            MachineStep::Force(v) => match forced_or_step(v) {
                Ok(v) => last = Some(v),
                Err(_) => return Err(not_evaluated().into()),
            },
            _ => return Err(not_evaluated().into()),
        }
    }
}

fn not_evaluated() -> ErrorKind {
    ErrorKind::other("internal error: a value compared as evaluated was not")
}

pub fn lt<'a>(co: &'a Co, a: Value, b: Value) -> Pin<Box<dyn Future<Output = R<bool>> + 'a>> {
    Box::pin(async move {
        let a = force(co, a).await?;
        let b = force(co, b).await?;
        if let Some(r) = shallow_lt(&a, &b)? {
            return Ok(r);
        }
        let (Value::List(x), Value::List(y)) = (&a, &b) else {
            unreachable!()
        };
        for (p, q) in x.iter().zip(y.iter()) {
            if deep_eq(co, p.clone(), q.clone()).await? {
                continue;
            }
            return lt(co, p.clone(), q.clone()).await;
        }
        Ok(x.len() < y.len())
    })
}

pub fn lt_gen(a: Value, b: Value, negate: bool) -> Generator {
    crate::generators::start(move |co| {
        Box::pin(async move { Ok(Value::Bool(lt(&co, a, b).await? != negate)) })
    })
}

fn less_than(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let mut it = args.into_iter();
        let a = it.next().unwrap();
        let b = it.next().unwrap();
        Ok(Value::Bool(lt(&co, a, b).await?))
    })
}

/// `lessThan a b` of two evaluated values that are not lists (`sort lessThan` of
/// numbers or strings): no generator. Anything else, errors included, goes to it.
fn less_than_quick(a: &[Value]) -> Option<Value> {
    let [a, b] = a else { return None };
    with_whnf(a, |a| {
        with_whnf(b, |b| match shallow_lt(a, b) {
            Ok(Some(r)) => Some(Value::Bool(r)),
            _ => None,
        })
    })
}

pub fn register(r: &mut Registry) {
    r.gen_quick("lessThan", 2, less_than, less_than_quick);
}
