//! Builtins that must force values or call functions are generators: they yield a
//! request ("force this", "call this with that") and the VM services it on its own
//! explicit stack, then resumes them with the result. Nothing recurses on the Rust stack.

use std::future::Future;
use std::pin::Pin;

use crate::errors::ErrorKind;
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
    fn resume(&mut self, last: Option<Value>) -> Result<MachineStep, ErrorKind>;
}

pub enum MachineStep {
    /// Force a value to weak head normal form.
    Force(Value),
    /// Call `f x` and force the result.
    Call(Value, Value),
    /// Call `f x y` and force the result.
    Call2(Value, Value, Value),
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
        Value::Thunk(t) => match &*t.0.borrow() {
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
    Caught(ErrorKind),
}

pub type Co = genawaiter::rc::Co<Request, Response>;
pub type GenFuture = Pin<Box<dyn Future<Output = Result<Value, ErrorKind>>>>;
pub type Generator = genawaiter::rc::Gen<Request, Response, GenFuture>;

pub fn start(f: impl FnOnce(Co) -> GenFuture) -> Generator {
    genawaiter::rc::Gen::new(f)
}

/// Force `v` to weak head normal form (no suspension if it already is).
pub async fn force(co: &Co, v: Value) -> Result<Value, ErrorKind> {
    match v {
        Value::Thunk(t) => {
            if let Some(v) = t.value() {
                return Ok(v);
            }
            match co.yield_(Request::Force(Value::Thunk(t))).await {
                Response::Value(v) => Ok(v),
                _ => Err(ErrorKind::other("internal error: bad resume of force")),
            }
        }
        v => Ok(v),
    }
}

/// Call `f x`, forcing the result.
pub async fn call(co: &Co, f: Value, x: Value) -> Result<Value, ErrorKind> {
    match co.yield_(Request::Call(f, x)).await {
        Response::Value(v) => Ok(v),
        _ => Err(ErrorKind::other("internal error: bad resume of call")),
    }
}

/// Call `f a b`.
pub async fn call2(co: &Co, f: Value, a: Value, b: Value) -> Result<Value, ErrorKind> {
    match co.yield_(Request::Call2(f, a, b)).await {
        Response::Value(v) => Ok(v),
        _ => Err(ErrorKind::other("internal error: bad resume of call")),
    }
}

/// Run `m` to completion on the VM's stack.
pub async fn run_machine(
    co: &Co,
    name: &'static str,
    m: Box<dyn Machine>,
) -> Result<Value, ErrorKind> {
    match co.yield_(Request::Run(name, m)).await {
        Response::Value(v) => Ok(v),
        _ => Err(ErrorKind::other("internal error: bad resume of a machine")),
    }
}

/// Force `v` deeply: every list element and attribute value, iteratively.
pub async fn deep_force(co: &Co, v: Value) -> Result<Value, ErrorKind> {
    let v = force(co, v).await?;
    let mut seen: rustc_hash::FxHashSet<usize> = Default::default();
    let mut work = vec![v.clone()];
    while let Some(item) = work.pop() {
        match item {
            Value::List(l) => {
                if !seen.insert(std::rc::Rc::as_ptr(&l) as *const u8 as usize) {
                    continue;
                }
                for e in l.iter() {
                    work.push(force(co, e.clone()).await?);
                }
            }
            Value::Attrs(a) => {
                if !seen.insert(a.as_ptr() as usize) {
                    continue;
                }
                for (_, e) in a.iter() {
                    work.push(force(co, e.clone()).await?);
                }
            }
            _ => {}
        }
    }
    Ok(v)
}

pub fn type_error(expected: &'static str, got: &Value) -> ErrorKind {
    ErrorKind::TypeError {
        expected,
        got: got.describe(),
    }
}
