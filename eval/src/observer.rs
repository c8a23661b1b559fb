//! The observer interface: how a debugger or tracer watches (and pauses) evaluation.
//!
//! The VM calls the observer when a frame is entered or left, before every instruction
//! and when an error is raised. Calls may block: a debugger pauses evaluation by not
//! returning. While called, the observer can read the call stack and each frame's
//! variables by name through [`VmView`], without forcing anything.
//! `NoObserver` sets `ACTIVE = false`, so the VM compiles every call away.

use std::rc::Rc;
use std::sync::Arc;

use crate::compiled::{Op, ProtoKind, SourceFile, Span};
use crate::errors::{EvalError, Location};
use crate::value::{Env, Value};

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
}

/// Observes nothing, at no cost.
pub struct NoObserver;

impl Observer for NoObserver {
    const ACTIVE: bool = false;
}

/// What the observer may read of a frame.
pub struct FrameInfo {
    pub kind: FrameKind,
    pub location: Option<Location>,
    pub(crate) env: Option<Rc<Env>>,
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
        let mut env = self.env.clone();
        while let Some(e) = env {
            if let Some(info) = &e.info {
                let slots = e.slots.borrow();
                for (name, v) in info.names.iter().zip(slots.iter()) {
                    if let Some(name) = name {
                        out.push((name.as_str().to_string(), view_value(v)));
                    }
                }
            }
            env = e.parent.clone();
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

/// A read-only view of the VM handed to the observer.
pub struct VmView<'a> {
    pub(crate) frames: &'a [crate::vm::Frame],
}

impl VmView<'_> {
    /// The call stack, innermost frame first.
    pub fn frames(&self) -> Vec<FrameInfo> {
        self.frames.iter().rev().map(|f| f.info()).collect()
    }

    pub fn depth(&self) -> usize {
        self.frames.len()
    }
}
