//! `Code`: the runtime face of one compiled `Proto`.
//!
//! The compiled form is shared between threads, so it is built of `Arc`s, and every
//! clone of an `Arc` is an atomic operation. Calls, thunks and frames clone their code
//! all the time, so the VM works on this single-threaded mirror instead: one `Rc` per
//! proto, made the first time the proto runs, holding its constants as ready values
//! (a string literal is allocated once, not on every evaluation) and the names of the
//! environments it runs in, for debuggers.

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
    /// The names of the environment a frame of this code starts in: a lambda's call
    /// environment, the captured one of a thunk.
    base: Option<Rc<ScopeChain>>,
    /// Those of the environment of each of `proto.scopes`, pushed inside it.
    pushed: Box<[Rc<ScopeChain>]>,
    /// Slots of the environment made for a call of this lambda (slot `fused` is the
    /// argument).
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

/// The names of an environment's slots and of the environments around it, innermost
/// first, as its `parent`s go. An environment does not carry them (that would cost
/// every call a word written and 8 bytes more per environment): the code it was made
/// for knows them, and the debugger asks the code. The chain may end before the
/// environments do: those past it (a file's empty one) have no names.
pub struct ScopeChain {
    pub info: Arc<ScopeInfo>,
    pub outer: Option<Rc<ScopeChain>>,
}

/// `Code::base` and `Code::pushed` of `proto`, made in an environment named `outer`.
fn names(
    proto: &Proto,
    outer: Option<Rc<ScopeChain>>,
) -> (Option<Rc<ScopeChain>>, Box<[Rc<ScopeChain>]>) {
    let base = match &proto.call_scope {
        // A fused lambda's call environment takes the place of the one it is made in
        // (see `Proto::fused`).
        Some(info) => Some(Rc::new(ScopeChain {
            info: info.clone(),
            outer: match proto.fused {
                0 => outer,
                _ => outer.and_then(|o| o.outer.clone()),
            },
        })),
        None => outer,
    };
    let mut pushed: Vec<Rc<ScopeChain>> = Vec::with_capacity(proto.scopes.len());
    for (info, site) in proto.scopes.iter().zip(&proto.scope_sites) {
        let outer = match site.outer {
            Some(j) => pushed.get(j as usize).cloned(),
            None => base.clone(),
        };
        pushed.push(Rc::new(ScopeChain {
            info: info.clone(),
            outer,
        }));
    }
    (base, pushed.into())
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
    /// The code of a file, or of other code run in an environment with no names.
    pub fn new(proto: Arc<Proto>) -> Rc<Code> {
        Code::new_in(proto, None)
    }

    /// The code of `proto`, whose closures or thunks hold an environment named `outer`.
    pub fn new_in(proto: Arc<Proto>, outer: Option<Rc<ScopeChain>>) -> Rc<Code> {
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
        let call_size = proto.call_scope.as_ref().map_or(1, |s| s.names.len());
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
        let (base, pushed) = names(&proto, outer);
        Rc::new(Code {
            entry: proto.ops.as_ptr(),
            consts,
            children: proto.protos.iter().map(|_| OnceCell::new()).collect(),
            base,
            pushed,
            call_size,
            quick2: curried.and_then(|i| quick2(&proto.protos[i as usize], proto.fused as usize)),
            curried,
            fused: proto.fused as usize,
            proto,
        })
    }

    /// The names of the environment a frame of this code is in when its next
    /// instruction is `ip`: that of the innermost scope it has pushed there, else its
    /// own.
    pub fn names_at(&self, ip: usize) -> Option<Rc<ScopeChain>> {
        // Scopes are listed as they open: the last open one is the innermost.
        match self
            .proto
            .scope_sites
            .iter()
            .rposition(|s| s.is_open_at(ip))
        {
            Some(i) => self.pushed.get(i).cloned(),
            None => self.base.clone(),
        }
    }

    /// The names of the environment a closure or thunk of child `i` holds.
    fn names_for_child(&self, i: u32) -> Option<Rc<ScopeChain>> {
        match self.proto.protos[i as usize].made_in {
            Some(j) => self.pushed.get(j as usize).cloned(),
            None => self.base.clone(),
        }
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
            .get_or_init(|| self.make_child(i))
            .clone()
    }

    /// `child`, borrowed: to look at its code without a count of one's own. (`child` does
    /// not go through it: that changed how `run_frames` was inlined, costing 0.5% on
    /// modules.nix.)
    #[inline]
    pub fn child_ref(&self, i: u32) -> &Rc<Code> {
        self.children[i as usize].get_or_init(|| self.make_child(i))
    }

    /// Once per proto and evaluation: kept out of the paths that find it made.
    #[cold]
    fn make_child(&self, i: u32) -> Rc<Code> {
        Code::new_in(
            self.proto.protos[i as usize].clone(),
            self.names_for_child(i),
        )
    }

    /// The description of scope `i`, pushed by `Op::PushScope(i)`.
    #[inline]
    pub fn scope(&self, i: u32) -> &ScopeInfo {
        &self.proto.scopes[i as usize]
    }
}

impl std::ops::Deref for Code {
    type Target = Proto;
    #[inline]
    fn deref(&self) -> &Proto {
        &self.proto
    }
}
