//! The observer interface: how a debugger or tracer watches (and pauses) evaluation.
//!
//! The VM calls the observer when a frame is entered or left, before every instruction
//! and when an error is raised. Calls may block: a debugger pauses evaluation by not
//! returning. While called, the observer can read the call stack and each frame's
//! variables by name through [`VmView`], without forcing anything.
//! `NoObserver` sets `ACTIVE = false`, so the VM compiles every call away.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use crate::compiled::{Op, ProtoKind, SourceFile, Span};
use crate::errors::{EvalError, Location};
use crate::state::EvalState;
use crate::value::{EnvRc, ScopeChain, Value};
use crate::vm::Vm;

/// Why a frame exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Application of a lambda.
    Call,
    /// Forcing a thunk.
    Force,
    /// Evaluating an imported file.
    Import,
    /// A builtin that suspends to force values or call functions.
    Builtin(&'static str),
}

pub trait Observer {
    /// False for observers that do nothing; the VM then skips building views.
    const ACTIVE: bool = true;

    fn enter_frame(&mut self, _vm: &VmView<'_>, _kind: FrameKind) {}
    fn leave_frame(&mut self, _vm: &VmView<'_>, _kind: FrameKind) {}
    fn before_step(&mut self, _vm: &VmView<'_>, _file: &Arc<SourceFile>, _span: Span, _op: Op) {}
    fn on_error(&mut self, _vm: &VmView<'_>, _err: &EvalError) {}

    /// Runs `vm` until its frame stack is down to `stop`. Not for observers to change:
    /// it is here so that `NoObserver`'s loop is compiled in this crate only.
    #[doc(hidden)]
    fn run_vm(vm: &mut Vm<'_, Self>, stop: usize, sbase: usize) -> Result<(), EvalError>
    where
        Self: Sized,
    {
        vm.run_loop(stop, sbase)
    }
}

/// Observes nothing, at no cost.
pub struct NoObserver;

impl Observer for NoObserver {
    const ACTIVE: bool = false;

    /// Not generic, so compiled here once, with the loop under it: a generic caller
    /// in another crate (`tvix eval`) would otherwise compile its own copy of the
    /// whole loop and of the helpers inlined into it, and the hot code would sit in
    /// the instruction cache twice (the builtins use this crate's copies).
    #[inline(never)]
    fn run_vm(vm: &mut Vm<'_, Self>, stop: usize, sbase: usize) -> Result<(), EvalError> {
        vm.run_loop(stop, sbase)
    }
}

/// What the observer may read of a frame.
pub struct FrameInfo {
    pub kind: FrameKind,
    pub location: Option<Location>,
    pub(crate) env: Option<EnvRc>,
    /// The names of `env`'s slots and its parents', from the frame's code.
    pub(crate) names: Option<Rc<ScopeChain>>,
    pub(crate) proto_kind: Option<ProtoKind>,
}

/// How a variable looks without forcing it.
#[derive(Debug, Clone, PartialEq)]
pub enum VarView {
    /// A thunk nobody has forced yet.
    Unevaluated,
    /// The value printed as `nix-instantiate --eval` prints it (shallowly).
    Value(String),
}

impl FrameInfo {
    /// Variables in scope at this frame, innermost scope first, by name.
    pub fn variables(&self) -> Vec<(String, VarView)> {
        let mut out = Vec::new();
        let mut env = self.env.as_ref();
        let mut names = self.names.as_deref();
        while let (Some(e), Some(n)) = (env, names) {
            let slots = e.slots.borrow();
            for (name, v) in n.info.names.iter().zip(slots.iter()) {
                if let Some(name) = name {
                    out.push((name.as_str().to_string(), view_value(v)));
                }
            }
            env = e.parent.as_ref();
            names = n.outer.as_deref();
        }
        out
    }

    pub fn proto_kind(&self) -> Option<ProtoKind> {
        self.proto_kind
    }
}

fn view_value(v: &Value) -> VarView {
    match v {
        Value::Thunk(t) => match t.value() {
            Some(v) => VarView::Value(crate::print::print_shallow(&v)),
            None => VarView::Unevaluated,
        },
        v => VarView::Value(crate::print::print_shallow(v)),
    }
}

/// A view of the paused VM handed to the observer: the call stack to read, and the
/// evaluator state to evaluate new expressions with (see [`VmView::eval_in_frame`]).
pub struct VmView<'a> {
    pub(crate) frames: &'a [crate::vm::Frame],
    state: RefCell<&'a mut EvalState>,
    /// Whether the top frame is about to run the instruction before its `ip`
    /// (`Observer::before_step`) rather than past it.
    stepping: bool,
}

impl<'a> VmView<'a> {
    pub(crate) fn new(frames: &'a [crate::vm::Frame], state: &'a mut EvalState) -> Self {
        VmView {
            frames,
            state: RefCell::new(state),
            stepping: false,
        }
    }

    /// The view before the top frame runs its next instruction, which its `ip` is
    /// already past.
    pub(crate) fn stepping(frames: &'a [crate::vm::Frame], state: &'a mut EvalState) -> Self {
        VmView {
            stepping: true,
            ..VmView::new(frames, state)
        }
    }

    /// Frame `i` (0 = innermost).
    fn frame(&self, i: usize) -> Option<FrameInfo> {
        let f = self.frames.iter().rev().nth(i)?;
        Some(f.info(self.stepping && i == 0))
    }

    /// Evaluate `expr` as if it were written where frame `frame` (0 = innermost) is
    /// paused: it sees that frame's local variables and `with` sets, then the
    /// globals; relative paths resolve against the frame's file. The value comes back
    /// in weak head normal form. The nested evaluation is not observed (it cannot
    /// pause), and forcing a variable the paused evaluation is itself computing is an
    /// infinite recursion error, as it would be in the program.
    pub fn eval_in_frame(&self, frame: usize, expr: &str) -> Result<Value, EvalError> {
        let info = self
            .frame(frame)
            .ok_or_else(|| frame_error(format!("there is no frame {frame}")))?;
        let (Some(env), Some(location)) = (&info.env, &info.location) else {
            return Err(frame_error(format!(
                "frame {frame} is a builtin and has no variables"
            )));
        };
        let mut state = self.state.borrow_mut();
        let names = info.names.as_deref();
        crate::frame_eval::eval_in_env(&mut state, env, names, &location.file.dir, expr)
    }
}

fn frame_error(msg: String) -> EvalError {
    EvalError::new(crate::errors::ErrorKind::other(msg), None)
}

impl VmView<'_> {
    /// The call stack, innermost frame first.
    pub fn frames(&self) -> Vec<FrameInfo> {
        (0..self.frames.len())
            .filter_map(|i| self.frame(i))
            .collect()
    }

    pub fn depth(&self) -> usize {
        self.frames.len()
    }
}
