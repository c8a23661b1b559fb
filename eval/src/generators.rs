//! Builtins that must force values or call functions are generators: they yield a
//! request ("force this", "call this with that") and the VM services it on its own
//! explicit stack, then resumes them with the result. Nothing recurses on the Rust stack.

use std::future::Future;
use std::pin::Pin;

use crate::errors::{ErrorKind, R};
use crate::value::{ThunkState, Value};

pub enum Request {
    /// Force to weak head normal form.
    Force(Value),
    /// Whether a path exists (answered by EvalIO).
    PathExists(std::path::PathBuf),
    /// Call `f x` and force the result.
    Call(Value, Value),
    /// Call `f x y` and force the result.
    Call2(Value, Value, Value),
    /// Force, catching a catchable error (for `tryEval`).
    TryForce(Value),
    /// The store path a file would be imported as (answered by EvalIO).
    ImportPath(std::path::PathBuf),
    /// Run a machine on the VM's stack until it is done; its result is the answer.
    Run(&'static str, Box<dyn Machine>),
}

/// A builtin's inner loop as a state machine the VM steps on its own stack. A loop that
/// calls back into Nix code many times (`sort`'s comparator, `foldl'`'s operator) is
/// much cheaper this way than as a generator resumed once per call.
pub trait Machine {
    /// Continue, given the answer to the step last asked for (`None` at first).
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep>;

    /// Called before the first resume when no observer watches calls: the machine may
    /// then answer calls `vm::quick2_answer` settles itself, without a step per call
    /// (it reports their steps with `MachineStep::Tick`).
    fn answer_quick_calls(&mut self) {}

    /// The message of `builtins.addErrorContext` for errors raised while this machine
    /// waits: its machine alone has one.
    fn error_context(&self) -> Option<&Value> {
        None
    }
}

pub enum MachineStep {
    /// Force a value to weak head normal form.
    Force(Value),
    /// Call `f x` and force the result.
    Call(Value, Value),
    /// Call `f x y` and force the result.
    Call2(Value, Value, Value),
    /// Count this many steps the machine took on its own (calls it answered itself),
    /// then resume it with nothing.
    Tick(u64),
    Done(Value),
}

/// `v` if it is already in weak head normal form, else the step that forces it: a
/// machine takes evaluated arguments without a round trip through the VM.
#[inline(always)]
pub fn forced_or_step(v: Value) -> Result<Value, MachineStep> {
    match v {
        Value::Thunk(ref t) => match t.value() {
            Some(v) => Ok(v),
            None => Err(MachineStep::Force(v)),
        },
        v => Ok(v),
    }
}

/// `forced_or_step` of the argument taken out of `arg`, out of line: for the preludes
/// of machines, which run once per call and so are mostly fetched cold; there a
/// shared copy (likely cached) beats an inlined one a few instructions faster.
#[inline(never)]
pub fn take_forced_or_step(arg: &mut Value) -> Result<Value, MachineStep> {
    forced_or_step(std::mem::take(arg))
}

/// A machine's argument on its first resume: the value a force just delivered, or
/// else `arg` taken as it is when it needs no force (else the step that forces it).
#[inline]
pub fn arrived_or_force(last: &mut Option<Value>, arg: &mut Value) -> Result<Value, MachineStep> {
    match last.take() {
        Some(v) => Ok(v),
        None => forced_or_step(std::mem::take(arg)),
    }
}

/// What `v` stands for, as cheaply as it can be had: the value of an evaluated thunk
/// (the thunk's own count untouched), anything else as it is. A machine hands list
/// elements to calls this way, so the callee reads a value rather than replacing an
/// evaluated thunk in its slot.
#[inline(always)]
pub fn known(v: &Value) -> Value {
    match v {
        Value::Thunk(t) => t.value().unwrap_or_else(|| v.clone()),
        v => v.clone(),
    }
}

/// `f` of what `v` stands for in weak head normal form, read in place (an evaluated
/// thunk's value is borrowed, not cloned); `None` if it is not evaluated.
#[inline(always)]
pub fn with_whnf<T>(v: &Value, f: impl FnOnce(&Value) -> Option<T>) -> Option<T> {
    match v {
        Value::Thunk(t) => match &*t.borrow() {
            ThunkState::Evaluated(Value::Thunk(_)) => None,
            ThunkState::Evaluated(v) => f(v),
            _ => None,
        },
        v => f(v),
    }
}

/// `forced_or_step` of a value held elsewhere (a list element, an attribute): cloned only
/// as far as needed, an evaluated thunk's value without touching the thunk's count.
#[inline(always)]
pub fn known_or_step(v: &Value) -> Result<Value, MachineStep> {
    match v {
        Value::Thunk(t) => match t.value() {
            Some(v) => Ok(v),
            None => Err(MachineStep::Force(v.clone())),
        },
        v => Ok(v.clone()),
    }
}

pub enum Response {
    Start,
    Value(Value),
    Caught(Box<ErrorKind>),
}

pub type Co = genawaiter::rc::Co<Request, Response>;
pub type GenFuture = Pin<Box<dyn Future<Output = R<Value>>>>;
pub type Generator = genawaiter::rc::Gen<Request, Response, GenFuture>;

pub fn start(f: impl FnOnce(Co) -> GenFuture) -> Generator {
    genawaiter::rc::Gen::new(f)
}

/// Force `v` to weak head normal form (no suspension if it already is).
pub async fn force(co: &Co, v: Value) -> R<Value> {
    match v {
        Value::Thunk(t) => {
            if let Some(v) = t.value() {
                return Ok(v);
            }
            match co.yield_(Request::Force(Value::Thunk(t))).await {
                Response::Value(v) => Ok(v),
                _ => Err(ErrorKind::other("internal error: bad resume of force").into()),
            }
        }
        v => Ok(v),
    }
}

/// Call `f x`, forcing the result.
pub async fn call(co: &Co, f: Value, x: Value) -> R<Value> {
    match co.yield_(Request::Call(f, x)).await {
        Response::Value(v) => Ok(v),
        _ => Err(ErrorKind::other("internal error: bad resume of call").into()),
    }
}

/// Call `f a b`.
pub async fn call2(co: &Co, f: Value, a: Value, b: Value) -> R<Value> {
    match co.yield_(Request::Call2(f, a, b)).await {
        Response::Value(v) => Ok(v),
        _ => Err(ErrorKind::other("internal error: bad resume of call").into()),
    }
}

/// Run `m` to completion on the VM's stack.
pub async fn run_machine(co: &Co, name: &'static str, m: Box<dyn Machine>) -> R<Value> {
    match co.yield_(Request::Run(name, m)).await {
        Response::Value(v) => Ok(v),
        _ => Err(ErrorKind::other("internal error: bad resume of a machine").into()),
    }
}

/// Force `v` deeply: every list element and attribute value (see `DeepForce`).
pub async fn deep_force(co: &Co, v: Value) -> R<Value> {
    run_machine(co, "deepSeq", Box::new(DeepForce::new(v))).await
}

/// Deep forcing as a machine: the value, then every list element and attribute value,
/// in the order `deep_force` takes them (a work list, the last value found first). Each
/// container is visited once; only unevaluated thunks go back to the VM.
pub struct DeepForce {
    /// The value, until it is forced; then the answer.
    root: Value,
    started: bool,
    seen: rustc_hash::FxHashSet<usize>,
    work: Vec<Value>,
    /// The container whose elements are being forced, from the next one on.
    cur: Elems,
}

enum Elems {
    None,
    List(crate::value::NixList, usize),
    /// A set's values from the first that needed forcing on (a set has no index).
    Vals(std::vec::IntoIter<Value>),
}

impl DeepForce {
    pub fn new(v: Value) -> DeepForce {
        DeepForce {
            root: v,
            started: false,
            seen: Default::default(),
            work: Vec::new(),
            cur: Elems::None,
        }
    }

    /// Force the elements of the current container from the next one on, each found
    /// value onto the work list; the step to force one that is a thunk.
    fn elems(&mut self) -> Option<MachineStep> {
        match &mut self.cur {
            Elems::None => None,
            Elems::List(l, i) => {
                while let Some(e) = l.get(*i) {
                    *i += 1;
                    match known_or_step(e) {
                        Ok(v) => self.work.push(v),
                        Err(step) => return Some(step),
                    }
                }
                self.cur = Elems::None;
                None
            }
            Elems::Vals(it) => {
                for e in it.by_ref() {
                    match forced_or_step(e) {
                        Ok(v) => self.work.push(v),
                        Err(step) => return Some(step),
                    }
                }
                self.cur = Elems::None;
                None
            }
        }
    }

    /// Open the next container on the work list; `false` when there is none.
    fn open_next(&mut self) -> bool {
        while let Some(item) = self.work.pop() {
            match item {
                Value::List(l) if self.seen.insert(l.as_ptr() as usize) => {
                    self.cur = Elems::List(l, 0);
                    return true;
                }
                Value::Attrs(a) if self.seen.insert(a.as_ptr() as usize) => {
                    // Evaluated values are taken in place; the rest is copied out once.
                    for (i, (_, e)) in a.iter().enumerate() {
                        if let Some(v) = with_whnf(e, |v| Some(v.clone())) {
                            self.work.push(v);
                            continue;
                        }
                        let rest: Vec<Value> = a.iter().skip(i).map(|(_, e)| e.clone()).collect();
                        self.cur = Elems::Vals(rest.into_iter());
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }
}

impl Machine for DeepForce {
    fn resume(&mut self, last: Option<Value>) -> R<MachineStep> {
        if !self.started {
            self.started = true;
            let v = match last {
                Some(v) => v,
                None => match forced_or_step(std::mem::take(&mut self.root)) {
                    Ok(v) => v,
                    Err(step) => {
                        self.started = false;
                        return Ok(step);
                    }
                },
            };
            self.root = v.clone();
            self.work.push(v);
        } else if let Some(v) = last {
            self.work.push(v);
        }
        loop {
            if let Some(step) = self.elems() {
                return Ok(step);
            }
            if !self.open_next() {
                return Ok(MachineStep::Done(self.root.clone()));
            }
        }
    }
}

/// Boxed and out of line: the type checks that raise it are on hot paths and stay
/// small enough to inline.
#[cold]
#[inline(never)]
pub fn type_error(expected: &'static str, got: &Value) -> Box<ErrorKind> {
    Box::new(ErrorKind::TypeError {
        expected,
        got: got.describe(),
    })
}
