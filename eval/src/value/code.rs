//! `Code`: the runtime face of one compiled `Proto`.
//!
//! The compiled form is shared between threads, so it is built of `Arc`s, and every
//! clone of an `Arc` is an atomic operation. Calls, thunks and frames clone their code
//! all the time, so the VM works on this single-threaded mirror instead: one `Rc` per
//! proto, made the first time the proto runs, holding its constants as ready values
//! (a string literal is allocated once, not on every evaluation) and the debug
//! information of its scopes.

use std::cell::OnceCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use super::{NixString, Value};
use crate::compiled::{ops_are_closed, Constant, Op, Proto, ProtoKind, ScopeInfo};

pub struct Code {
    pub proto: Arc<Proto>,
    /// `proto.ops.as_ptr()`, one load nearer: frames start here and jumps are taken
    /// from it. The ops are the proto's, which this keeps alive and never changes.
    entry: *const Op,
    consts: Box<[Value]>,
    children: Box<[OnceCell<Rc<Code>>]>,
    scopes: Box<[Rc<ScopeInfo>]>,
    /// The environment made for a call of this lambda (slot `fused` is the argument).
    pub call_scope: Option<Rc<ScopeInfo>>,
    /// Slots of that environment.
    pub call_size: usize,
    /// Slots a call copies from the closure's environment (see `Proto::fused`).
    pub fused: usize,
    /// For a lambda whose body is another lambda (`a: b: ...`) that continues its
    /// environment: that lambda's index, so a call can make the inner closure without
    /// running a frame, and a call with two arguments can bind both in one environment.
    pub curried: Option<u32>,
    /// For such a lambda whose inner body is one operator on the two arguments
    /// (`a: b: a < b`, `acc: x: acc + x`): the operator and which argument each operand
    /// is (`false` the first, `true` the second). A call with two integers is worked
    /// out from this without a frame (`Vm::quick_call2`).
    pub quick2: Option<(Op, bool, bool)>,
}

fn runtime_scope(s: &ScopeInfo) -> Rc<ScopeInfo> {
    Rc::new(ScopeInfo {
        kind: s.kind,
        names: s.names.clone(),
    })
}

/// `Code::quick2` of an inner lambda whose two arguments are bound in slots `keep` and
/// `keep + 1` of its environment.
fn quick2(inner: &Proto, keep: usize) -> Option<(Op, bool, bool)> {
    let [Op::Local(0, i), Op::Local(0, j), op, Op::Return] = inner.ops[..] else {
        return None;
    };
    let arg = |s: u32| match (s as usize).checked_sub(keep)? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    };
    Some((op, arg(i)?, arg(j)?))
}

impl Code {
    pub fn new(proto: Arc<Proto>) -> Rc<Code> {
        // Once per proto and evaluation: lets `Vm::run_frames` fetch unchecked.
        assert!(ops_are_closed(&proto.ops), "malformed bytecode");
        let consts = proto
            .consts
            .iter()
            .map(|c| match c {
                Constant::Int(i) => Value::Int(*i),
                Constant::Float(f) => Value::Float(*f),
                Constant::String(s) => Value::String(NixString::new(s.clone(), None)),
                Constant::Path(p) => Value::Path(Rc::new(PathBuf::clone(p))),
            })
            .collect();
        let call_scope = proto.call_scope.as_deref().map(runtime_scope);
        let call_size = call_scope.as_ref().map_or(1, |s| s.names.len());
        let curried = match proto.ops[..] {
            [Op::Closure(i), Op::Return]
                if proto.kind == ProtoKind::Lambda
                    && proto
                        .protos
                        .get(i as usize)
                        .is_some_and(|p| p.fused as usize == call_size) =>
            {
                Some(i)
            }
            _ => None,
        };
        Rc::new(Code {
            entry: proto.ops.as_ptr(),
            consts,
            children: proto.protos.iter().map(|_| OnceCell::new()).collect(),
            scopes: proto.scopes.iter().map(|s| runtime_scope(s)).collect(),
            call_size,
            quick2: curried.and_then(|i| quick2(&proto.protos[i as usize], proto.fused as usize)),
            curried,
            fused: proto.fused as usize,
            call_scope,
            proto,
        })
    }

    /// The address of the first instruction, where a frame running this code starts.
    #[inline(always)]
    pub fn entry(&self) -> *const Op {
        self.entry
    }

    /// Constant `i` as a value.
    #[inline]
    pub fn constant(&self, i: u32) -> Value {
        self.consts[i as usize].clone()
    }

    /// The code of nested proto `i` (a thunk body or lambda).
    #[inline]
    pub fn child(&self, i: u32) -> Rc<Code> {
        self.children[i as usize]
            .get_or_init(|| Code::new(self.proto.protos[i as usize].clone()))
            .clone()
    }

    /// `child`, borrowed: to look at its code without a count of one's own. (`child` does
    /// not go through it: that changed how `run_frames` was inlined, costing 0.5% on
    /// modules.nix.)
    #[inline]
    pub fn child_ref(&self, i: u32) -> &Rc<Code> {
        self.children[i as usize].get_or_init(|| Code::new(self.proto.protos[i as usize].clone()))
    }

    /// Debug information of scope `i`.
    #[inline]
    pub fn scope(&self, i: u32) -> Rc<ScopeInfo> {
        self.scopes[i as usize].clone()
    }
}

impl std::ops::Deref for Code {
    type Target = Proto;
    #[inline]
    fn deref(&self) -> &Proto {
        &self.proto
    }
}
