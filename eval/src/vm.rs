//! The VM: runs bytecode on an explicit frame stack. Calling a function, forcing a thunk
//! and running a suspending builtin push frames; nothing recurses on the Rust stack, so
//! deep Nix recursion is bounded by memory and the depth limit, and ends in a clean
//! error instead of a stack overflow.
//!
//! Instructions that need a value in weak head normal form use one pattern: if the
//! operand is an unevaluated thunk, the instruction pointer is stepped back, a frame
//! forcing the thunk is pushed, and the same instruction runs again once it returns.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::builtins::{self, BuiltinImpl};
use crate::compiled::*;
use crate::errors::{suggest, ErrorKind, EvalError, Location, R};
use crate::generators::{self, Generator, Machine, MachineStep, Request, Response};
use crate::observer::{FrameInfo, FrameKind, Observer, VmView};
use crate::state::EvalState;
use crate::symbol::Symbol;
use crate::value::*;

/// Limits on one evaluation. Each gives a clean error when exceeded.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most instructions to run.
    pub max_steps: Option<u64>,
    /// Most frames on the VM stack (calls, forced thunks, builtins).
    pub max_depth: usize,
    /// Set from another thread to abandon the evaluation.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: None,
            max_depth: 2_000_000,
            cancel: None,
        }
    }
}

pub(crate) enum CodeKind {
    /// A function call: the result is pushed for the caller.
    Call,
    /// Forcing a thunk: the result is stored in it. It is marked as being forced
    /// (`ThunkState::Forcing` and the like), which an error undoes.
    Thunk(Thunk),
}

pub(crate) struct CodeFrame {
    pub proto: Rc<Code>,
    /// The next instruction, in `proto`'s ops (which the frame keeps alive): the loop
    /// resumes the frame from this alone, with no walk from the frame to its ops.
    pub pc: Pc,
    pub env: EnvRc,
    pub base: usize,
    pub kind: CodeKind,
}

impl CodeFrame {
    #[inline(always)]
    fn new(proto: Rc<Code>, env: EnvRc, base: usize, kind: CodeKind) -> CodeFrame {
        CodeFrame {
            pc: proto.entry(),
            proto,
            env,
            base,
            kind,
        }
    }

    /// The index of the next instruction (for spans and the debugger).
    #[inline]
    pub(crate) fn ip(&self) -> usize {
        index(&self.proto.ops, self.pc)
    }

    /// Continue at instruction `t`.
    #[inline]
    fn jump(&mut self, t: u32) {
        self.pc = at(&self.proto, t);
    }

    /// Move the next instruction `k` forward (negative: back).
    #[inline]
    fn skip(&mut self, k: isize) {
        self.pc = self.pc.wrapping_offset(k);
    }
}

pub(crate) enum Pending {
    Start,
    Ready(Value),
    Forced(Thunk),
    CallResult,
    Try(Value),
    /// Boxed: rare, and it would make every frame several times larger.
    Caught(Box<ErrorKind>),
}

pub(crate) struct GenFrame {
    pub gen: Generator,
    pub base: usize,
    pub pending: Pending,
    pub name: &'static str,
}

/// A builtin's loop stepped by the VM (see `generators::Machine`).
pub(crate) struct MachineFrame {
    pub machine: Box<dyn Machine>,
    pub base: usize,
    pub awaiting: Awaiting,
    pub name: &'static str,
}

/// What a machine frame waits for before it resumes.
pub(crate) enum Awaiting {
    /// The result of the call it asked for, on top of the stack.
    Call,
    /// The thunk it asked to force: its value is the answer. Kept here rather than on
    /// the stack, so the answer is read straight out of it.
    Force(Thunk),
}

/// Tagged in front, code frames first: telling a code frame from the others, on every
/// return to the loop, is then one compare of a byte.
#[repr(u8)]
pub(crate) enum Frame {
    Code(CodeFrame),
    /// Boxed: rare, and the largest.
    Gen(Box<GenFrame>),
    Machine(MachineFrame),
}

const _: () = assert!(std::mem::size_of::<Frame>() == 56);

impl Frame {
    /// What an observer sees of the frame; `stepping`: its instruction before `ip`
    /// has not run yet (see `VmView::stepping`).
    pub(crate) fn info(&self, stepping: bool) -> FrameInfo {
        match self {
            Frame::Code(f) => {
                let kind = match (&f.kind, f.proto.kind) {
                    (_, ProtoKind::File) => FrameKind::Import,
                    (CodeKind::Call, _) => FrameKind::Call,
                    (CodeKind::Thunk(..), _) => FrameKind::Force,
                };
                let span = f.proto.spans.get(f.ip().saturating_sub(1)).copied();
                FrameInfo {
                    kind,
                    location: span.map(|span| Location {
                        file: f.proto.file.clone(),
                        span,
                    }),
                    env: Some(f.env.clone()),
                    names: f.proto.names_at(f.ip() - usize::from(stepping)),
                    proto_kind: Some(f.proto.kind),
                }
            }
            Frame::Gen(g) => FrameInfo {
                kind: FrameKind::Builtin(g.name),
                location: None,
                env: None,
                names: None,
                proto_kind: None,
            },
            Frame::Machine(MachineFrame { name, .. }) => FrameInfo {
                kind: FrameKind::Builtin(name),
                location: None,
                env: None,
                names: None,
                proto_kind: None,
            },
        }
    }
}

/// A tiny piece of bytecode the VM runs on its own behalf, with no source of its own.
fn internal_proto(kind: ProtoKind, ops: Vec<Op>) -> Rc<Code> {
    static FILE: OnceLock<Arc<SourceFile>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        Arc::new(SourceFile {
            name: "«internal»".into(),
            text: String::new(),
            dir: "/".into(),
        })
    });
    Code::new(Arc::new(Proto {
        kind,
        spans: vec![Span::default(); ops.len()],
        ops,
        consts: vec![],
        protos: vec![],
        scopes: vec![],
        scope_sites: vec![],
        made_in: None,
        with_chains: vec![],
        attr_keys: vec![],
        attr_pos: vec![],
        file: file.clone(),
        span: Span::default(),
        lambda: None,
        call_scope: None,
        fused: 0,
        contexts: vec![],
    }))
}

thread_local! {
    /// `[f, x] -> f x`, forced: used to force lazy applications and by builtins.
    static TRAMPOLINE: Rc<Code> =
        internal_proto(ProtoKind::Thunk, vec![Op::Call, Op::Force, Op::Return]);
    /// `[y, f, x]` -> `f x y`, forced (no environment needed).
    static TRAMPOLINE2: Rc<Code> = internal_proto(
        ProtoKind::Thunk,
        vec![Op::Call, Op::Swap, Op::Call, Op::Force, Op::Return],
    );
    /// `[functor, self]` with the argument in slot 0: `(functor self) arg`.
    static FUNCTOR_TRAMPOLINE: Rc<Code> = internal_proto(
        ProtoKind::Lambda,
        vec![Op::Call, Op::Local(0, 0), Op::Call, Op::Return],
    );
}

pub(crate) fn trampoline() -> Rc<Code> {
    TRAMPOLINE.with(Rc::clone)
}

fn trampoline2() -> Rc<Code> {
    TRAMPOLINE2.with(Rc::clone)
}

fn functor_trampoline() -> Rc<Code> {
    FUNCTOR_TRAMPOLINE.with(Rc::clone)
}

/// Room for one more frame (see `enter_frame`): rare, the frame stack starts large.
/// `extern "C"`, so it cannot unwind (a failure aborts, as running out of memory does
/// anyway): were the call able to unwind, the frame being pushed would need a place in
/// memory for its drop, and would be built there and copied in, as by `Vec::push`.
#[cold]
#[inline(never)]
extern "C" fn grow_frames(frames: &mut Vec<Frame>) {
    frames.reserve(1);
}

/// What `fast_op` made of an instruction.
enum Fast {
    Done,
    /// Left to `step`.
    Slow,
    /// Left to `step`, which begins by forcing the top `k` stack slots in order: when
    /// one is an unevaluated thunk, `run_frames` starts forcing it itself.
    Demand(usize),
}

/// Where the running frame is in its code: the address of the next instruction, so
/// the fetch neither indexes nor bounds-checks (see the SAFETY note in `run_frames`).
/// Built with `wrapping_add`, so making one is safe; only reading through it is not.
type Pc = *const Op;

/// Jump target `t` of `code`.
#[inline(always)]
fn at(code: &Code, t: u32) -> Pc {
    code.entry().wrapping_add(t as usize)
}

/// The index in `ops` of `pc` (for spans and the debugger).
#[inline(always)]
fn index(ops: &[Op], pc: Pc) -> usize {
    (pc as usize - ops.as_ptr() as usize) / std::mem::size_of::<Op>()
}

/// The first unevaluated thunk among `vals`.
#[inline(always)]
fn first_unevaluated(vals: &[Value]) -> Option<Thunk> {
    vals.iter().find_map(|v| match v {
        Value::Thunk(t) if !t.is_evaluated() => Some(t.clone()),
        _ => None,
    })
}

/// The code and environment of the top code frame, borrowed while `run_frames` runs
/// it. Cloning the two `Rc`s on every frame switch cost two increments and two
/// decrements per call, return and force; the frame owns them anyway.
///
/// The pointers point into the frame stack, which moves when it grows, so they are
/// only dereferenced while the frame they were taken from is the top frame and the
/// stack has not changed: `run_frames` takes them afresh after anything that can push
/// or pop a frame (everything but `fast_op` and a change of scope, which rewrites the
/// frame's `env` field in place).
#[derive(Clone, Copy)]
struct FrameRefs {
    code: *const Rc<Code>,
    env: *const EnvRc,
}

impl FrameRefs {
    #[inline(always)]
    fn of(f: &CodeFrame) -> FrameRefs {
        FrameRefs {
            code: &f.proto,
            env: &f.env,
        }
    }

    /// # Safety
    /// The frame this was taken from is still on top and still holds its code.
    #[inline(always)]
    unsafe fn code<'a>(self) -> &'a Rc<Code> {
        &*self.code
    }

    /// # Safety
    /// As for `code`; the reference must not outlive a change of the frame's scope.
    #[inline(always)]
    unsafe fn env<'a>(self) -> &'a EnvRc {
        &*self.env
    }
}

pub struct Vm<'o, O: Observer> {
    pub(crate) stack: Vec<Value>,
    pub(crate) frames: Vec<Frame>,
    pub state: &'o mut EvalState,
    observer: &'o mut O,
    limits: Limits,
    steps: u64,
    /// `steps` at which `check_budget` next looks at the limits.
    check_at: u64,
    empty_env: EnvRc,
    /// Environments no longer in use, kept for reuse (see `recycle_env`): one pool per
    /// number of slots, as each block is of its environment's exact size.
    env_pool: [EnvPool; POOLED_SIZES],
}

/// Environments of one size kept for reuse: a chain through their `parent` fields,
/// which a pooled environment has no other use for.
#[derive(Default)]
struct EnvPool {
    head: Option<EnvRc>,
    len: u32,
}

/// Most steps between two looks at the cancel flag.
const BUDGET_STRIDE: u64 = 1024;

/// Most environments kept for reuse, per size.
const ENV_POOL: usize = 64;

/// Environments of fewer slots than this are kept for reuse (most are of one to three).
const POOLED_SIZES: usize = 12;

macro_rules! code_frame {
    ($self:ident) => {
        match $self.frames.last_mut() {
            Some(Frame::Code(f)) => f,
            _ => unreachable!("instruction outside a code frame"),
        }
    };
}

/// The machine frame on top of the frame stack.
macro_rules! machine_frame {
    ($self:ident) => {
        match $self.frames.last_mut() {
            Some(Frame::Machine(m)) => m,
            _ => unreachable!("not a machine frame"),
        }
    };
}

/// Make sure the stack slot holds a value in WHNF, or push a frame to force it and
/// re-run the current instruction.
macro_rules! demand_slot {
    ($self:ident, $idx:expr) => {
        demand_slot!($self, $idx, |t| $self.demand_unevaluated(t))
    };
    // `$demand` (returned) pushes the frame that forces the unevaluated thunk `$t`.
    ($self:ident, $idx:expr, |$t:ident| $demand:expr) => {{
        let idx = $idx;
        if let Value::Thunk(t) = &$self.stack[idx] {
            // Evaluated thunks (the common case) are replaced without touching frames.
            if let Some(v) = t.value() {
                $self.stack[idx] = v;
            } else {
                let $t = t.clone();
                return $demand;
            }
        }
    }};
}

/// The messages (as unevaluated values) of the `addErrorContext` ranges of `cf`'s code
/// that it is inside, innermost first: each a thunk of the message's code in the scope
/// the range began in (scopes the range opened since are left).
fn contexts_at(cf: &CodeFrame) -> Vec<Value> {
    let code = &cf.proto;
    if code.contexts.is_empty() {
        return Vec::new();
    }
    // The frame stopped either past the instruction it runs (a call) or on it (one
    // that forces an operand and runs again after). A range's last instruction is the
    // `Force` of its value, which runs again: so the frame is inside the range when its
    // next instruction is after the first and no further than that `Force`.
    let ip = cf.ip();
    code.contexts
        .iter()
        .filter(|c| (c.start as usize) < ip && ip < c.end as usize)
        .map(|c| {
            // The frame's environment is as many scopes inside the range's as the
            // range has opened and not yet closed.
            let opened = code
                .scope_sites
                .iter()
                .filter(|s| s.open >= c.start && s.is_open_at(ip))
                .count();
            let env = cf.env.ancestor(opened as u32).clone();
            Value::Thunk(Thunk::suspended(code.child(c.msg), env))
        })
        .collect()
}

impl<'o, O: Observer> Vm<'o, O> {
    pub fn new(state: &'o mut EvalState, observer: &'o mut O, limits: Limits) -> Self {
        state.observed = O::ACTIVE;
        Vm {
            stack: Vec::with_capacity(256),
            frames: Vec::with_capacity(64),
            state,
            observer,
            limits,
            steps: 0,
            check_at: 0,
            empty_env: Env::new(0, None),
            env_pool: Default::default(),
        }
    }

    // ---- public entry points ----

    /// Force `v` to weak head normal form.
    pub fn force(&mut self, v: Value) -> Result<Value, EvalError> {
        let Value::Thunk(t) = v else { return Ok(v) };
        if let Some(v) = t.value() {
            return Ok(v);
        }
        let depth = self.frames.len();
        let sbase = self.stack.len();
        let started = self.start_force(t.clone()).map_err(|k| self.error_here(*k));
        match started {
            Ok(_) => {}
            Err(e) => return Err(e),
        }
        self.run(depth, sbase)?;
        match t.value() {
            Some(v) => Ok(v),
            None => Err(self.error_here(ErrorKind::other("internal error: thunk not evaluated"))),
        }
    }

    /// Call `f x` and force the result.
    pub fn call(&mut self, f: Value, x: Value) -> Result<Value, EvalError> {
        let depth = self.frames.len();
        let sbase = self.stack.len();
        self.stack.push(f);
        self.stack.push(x);
        self.frames.push(Frame::Code(CodeFrame::new(
            trampoline(),
            self.empty_env.clone(),
            sbase,
            CodeKind::Call,
        )));
        self.run(depth, sbase)?;
        Ok(self.stack.pop().unwrap_or(Value::Null))
    }

    /// Force `v` and everything inside it.
    pub fn deep_force(&mut self, v: Value) -> Result<Value, EvalError> {
        // The machine `deepSeq` runs, so both force in one order.
        let depth = self.frames.len();
        let sbase = self.stack.len();
        if let Err(k) = self.start_machine("deepSeq", Box::new(generators::DeepForce::new(v))) {
            let err = self.error_here(*k);
            self.unwind(err, depth, sbase)?;
        }
        self.run(depth, sbase)?;
        Ok(self.stack.pop().unwrap_or(Value::Null))
    }

    // ---- the loop ----

    /// Through the observer type, so `Vm<NoObserver>` runs this crate's one compiled
    /// copy of the loop (see `Observer::run_vm`).
    fn run(&mut self, stop: usize, sbase: usize) -> Result<(), EvalError> {
        O::run_vm(self, stop, sbase)
    }

    pub(crate) fn run_loop(&mut self, stop: usize, sbase: usize) -> Result<(), EvalError> {
        while self.frames.len() > stop {
            if let Err(kind) = self.run_frames(stop) {
                let err = self.error_here(*kind);
                self.unwind(err, stop, sbase)?;
            }
        }
        Ok(())
    }

    /// Run frames until the stack is down to `stop` (or an error).
    ///
    /// A builtin's frame (machine or generator) is stepped here too, so a machine's
    /// call into Nix code and its return go straight from frame to frame.
    ///
    /// The current code frame's code, environment and instruction pointer live in
    /// locals; the frame stack is only looked at again when an instruction changes it
    /// (a call, a return, forcing a thunk, starting a builtin). Instructions whose
    /// common case needs nothing else run here; everything else (and every case the
    /// fast path declines, leaving the state untouched) goes through `step` with the
    /// frame's instruction pointer written back.
    fn run_frames(&mut self, stop: usize) -> R<()> {
        // Bytecode only jumps forward, so a code frame runs a bounded number of
        // instructions before it calls, returns or forces, and only a new frame brings
        // more work: checking the budget on entry, whenever an instruction pushed a
        // frame and on every step of a builtin's frame bounds every evaluation.
        // Resuming a frame after a return needs no look.
        self.check_budget()?;
        'frame: loop {
            let depth = self.frames.len();
            if depth <= stop {
                return Ok(());
            }
            // Borrowed, not cloned: see `FrameRefs`.
            let (mut refs, mut pc) = match self.frames.last() {
                Some(Frame::Code(f)) => (FrameRefs::of(f), f.pc),
                Some(Frame::Machine(_)) => {
                    self.check_limits()?;
                    self.step_machine()?;
                    continue 'frame;
                }
                Some(Frame::Gen(_)) => {
                    self.check_limits()?;
                    self.step_gen()?;
                    continue 'frame;
                }
                None => return Ok(()),
            };
            loop {
                // By reference: only the fields an instruction uses are loaded, and
                // nothing is copied out for the slow path to read back.
                // SAFETY: `Code::new` checked the ops are closed (`ops_are_closed`), and
                // `pc` (here or in a frame) is only ever the start, one past an
                // instruction that goes on (not the final `Return`), a checked jump
                // target, or past a checked `Call2`.
                let op = unsafe { &*pc };
                pc = pc.wrapping_add(1);
                self.steps += 1;
                if O::ACTIVE {
                    let f = code_frame!(self);
                    f.pc = pc;
                    let file = f.proto.file.clone();
                    let span = f.proto.spans[f.ip() - 1];
                    let view = VmView::stepping(&self.frames, self.state);
                    self.observer.before_step(&view, &file, span, *op);
                }
                // SAFETY: `fast_op` changes no frame, so the top frame still holds both.
                match self.fast_op(op, unsafe { refs.code() }, unsafe { refs.env() }, &mut pc) {
                    Fast::Done => continue,
                    Fast::Slow => {}
                    Fast::Demand(k) => {
                        // What `step` would do first, without going through it.
                        let n = self.stack.len();
                        if let Some(t) = first_unevaluated(&self.stack[n - k..]) {
                            code_frame!(self).pc = pc.wrapping_sub(1);
                            if let Err(e) = self.start_force(t) {
                                code_frame!(self).pc = pc;
                                return Err(e);
                            }
                            self.check_budget()?;
                            continue 'frame;
                        }
                    }
                }
                match *op {
                    Op::Return => {
                        if let Some(t) = self.op_return() {
                            // The frame is back on top, to force `t` and return again.
                            code_frame!(self).pc = pc.wrapping_sub(1);
                            self.start_force(t)?;
                            self.check_budget()?;
                        }
                        continue 'frame;
                    }
                    Op::Call => {
                        code_frame!(self).pc = pc;
                        self.op_call()?;
                    }
                    Op::Call2 => {
                        code_frame!(self).pc = pc;
                        self.op_call2()?;
                    }
                    // A new scope changes the frame's environment in place: the frame
                    // stays where it is, so `refs` still points at its fields.
                    Op::PushScope(i) => {
                        self.push_scope(i);
                        continue;
                    }
                    Op::PopScope => {
                        let f = code_frame!(self);
                        let parent = f.env.parent.clone().expect("PopScope without scope");
                        f.env = parent;
                        continue;
                    }
                    _ => {
                        code_frame!(self).pc = pc;
                        self.step(*op)?;
                    }
                }
                if self.frames.len() != depth {
                    self.check_budget()?;
                    continue 'frame;
                }
                // The same frame, but its scope may have changed, and a call that
                // pushed nothing (a builtin) may have moved the frame stack.
                let f = code_frame!(self);
                pc = f.pc;
                refs = FrameRefs::of(f);
            }
        }
    }

    /// The common case of `op`, if it needs only the current frame's code and
    /// environment and cannot fail. Otherwise nothing is changed and the instruction
    /// goes to `step`, unless it first forces an operand (`Fast::Demand`).
    #[inline(always)]
    fn fast_op(&mut self, op: &Op, code: &Rc<Code>, env: &EnvRc, pc: &mut Pc) -> Fast {
        match *op {
            Op::Const(i) => self.stack.push(code.constant(i)),
            Op::Null => self.stack.push(Value::Null),
            Op::True => self.stack.push(Value::Bool(true)),
            Op::False => self.stack.push(Value::Bool(false)),
            Op::Local(d, s) => {
                let v = read_local(env, d, s);
                self.stack.push(v);
            }
            Op::Global(i) => {
                let v = self.state.globals[i as usize].clone();
                self.stack.push(v);
            }
            Op::Thunk(i) => {
                let t = Thunk::suspended(code.child(i), env.clone());
                self.stack.push(Value::Thunk(t));
            }
            Op::Closure(i) => {
                let c = Closure {
                    proto: code.child(i),
                    env: env.clone(),
                };
                self.stack.push(Value::Closure(Rc::new(c)));
            }
            Op::Store(i) => {
                let v = self.pop();
                set(&mut env.slots.borrow_mut()[i as usize], v);
            }
            Op::Pop => discard(self.pop()),
            Op::Jump(t) => *pc = at(code, t),
            Op::JumpIfFalse(t) | Op::JumpIfTrue(t) => {
                let Some(b) = self.stack.last().and_then(known_bool) else {
                    return Fast::Demand(1);
                };
                discard(self.pop());
                if b == matches!(op, Op::JumpIfTrue(_)) {
                    *pc = at(code, t);
                }
            }
            Op::Force => {
                let Some(top) = self.stack.last_mut() else {
                    return Fast::Slow;
                };
                if let Value::Thunk(t) = top {
                    match t.value() {
                        Some(v) => *top = v,
                        None => return Fast::Demand(1),
                    }
                }
            }
            Op::Select(sym) => {
                let Some(top) = self.stack.last_mut() else {
                    return Fast::Slow;
                };
                match known_attr(top, sym) {
                    Some(v) => *top = v,
                    None => return Fast::Demand(1),
                }
            }
            Op::SelectOr(sym, target) => {
                let Some(top) = self.stack.last_mut() else {
                    return Fast::Slow;
                };
                match with_known_set(top, |a| a.get(sym).cloned()) {
                    Some(Some(v)) => *top = v,
                    Some(None) => {
                        discard(self.pop());
                        *pc = at(code, target);
                    }
                    None => return Fast::Demand(1),
                }
            }
            Op::SpecSelect(sym, target) => {
                let Some(top) = self.stack.last_mut() else {
                    return Fast::Slow;
                };
                match known_attr(top, sym) {
                    Some(v) => *top = v,
                    None => {
                        discard(self.pop());
                        *pc = at(code, target);
                    }
                }
            }
            Op::MakeAttrs(k, 0) => make_static_attrs(&mut self.stack, code, k),
            Op::MakeList(n) => make_list(&mut self.stack, n),
            Op::Speculate(o, target) => {
                let n = self.stack.len();
                let r = speculate(o, &self.stack[n - 2], &self.stack[n - 1]);
                discard(self.pop());
                discard(self.pop());
                match r {
                    Some(v) => self.stack.push(v),
                    None => *pc = at(code, target),
                }
            }
            Op::Eq | Op::Neq => {
                let n = self.stack.len();
                let Some(eq) = known_eq(&self.stack[n - 2], &self.stack[n - 1]) else {
                    return Fast::Demand(2);
                };
                discard(self.pop());
                let r = Value::Bool(eq == matches!(op, Op::Eq));
                set(&mut self.stack[n - 2], r);
            }
            Op::HasStep(sym, _) | Op::HasLast(sym) => {
                let Some(top) = self.stack.last_mut() else {
                    return Fast::Slow;
                };
                let Some((r, jump)) = with_known_set(top, |a| has_result(a.get(sym), *op)) else {
                    return Fast::Demand(1);
                };
                *top = r;
                if let Some(t) = jump {
                    *pc = at(code, t);
                }
            }
            Op::HasStepDyn(_) | Op::HasLastDyn => {
                // Only a plain key and a known set: `step` forces the key before the set.
                let n = self.stack.len();
                let Some(Value::String(key)) = self.stack.last() else {
                    return Fast::Slow;
                };
                let sym = key.to_symbol();
                let Some((r, jump)) =
                    with_known_set(&self.stack[n - 2], |a| has_result(a.get(sym), *op))
                else {
                    return Fast::Slow;
                };
                discard(self.pop());
                self.stack[n - 2] = r;
                if let Some(t) = jump {
                    *pc = at(code, t);
                }
            }
            Op::GetFormal(i, target) => {
                if self.formal_given(code, env, i) {
                    *pc = at(code, target);
                }
            }
            Op::AssertBool | Op::Not | Op::Assert => {
                let Some(top) = self.stack.last_mut() else {
                    return Fast::Slow;
                };
                // A failed assertion is reported by `step`.
                match (known_bool(top), op) {
                    (Some(true), Op::Assert) => discard(self.pop()),
                    (Some(b), Op::AssertBool) => *top = Value::Bool(b),
                    (Some(b), Op::Not) => *top = Value::Bool(!b),
                    _ => return Fast::Demand(1),
                }
            }
            Op::Swap => {
                let n = self.stack.len();
                self.stack.swap(n - 1, n - 2);
            }
            Op::SpecCall(_, target) | Op::SpecSelectDyn(target) => {
                let r = match *op {
                    Op::SpecCall(n, _) => spec_call(&mut self.stack, n as usize),
                    _ => spec_select_dyn(&mut self.stack),
                };
                match r {
                    Some(v) => self.stack.push(v),
                    None => *pc = at(code, target),
                }
            }
            // `+` checks its left operand before the right one is forced (in `step`), so
            // it must not have both forced here.
            Op::Add => {
                let n = self.stack.len();
                let r = match (known_int(&self.stack[n - 2]), known_int(&self.stack[n - 1])) {
                    (Some(x), Some(y)) => x.checked_add(y).map(Value::Int),
                    _ => None,
                };
                match r {
                    Some(v) => {
                        discard(self.pop());
                        set(&mut self.stack[n - 2], v);
                    }
                    None => return Fast::Slow,
                }
            }
            Op::Sub | Op::Mul | Op::Lt | Op::Ge => {
                let n = self.stack.len();
                // An operand forced just now is still its (evaluated) thunk on the stack.
                let r = match (known_int(&self.stack[n - 2]), known_int(&self.stack[n - 1])) {
                    (Some(x), Some(y)) => int_binop(*op, x, y),
                    _ => None,
                };
                match r {
                    Some(v) => {
                        discard(self.pop());
                        set(&mut self.stack[n - 2], v);
                    }
                    None => return Fast::Demand(2),
                }
            }
            // Listed rather than `_`: with every variant named the dispatch needs no
            // range check before its jump table.
            Op::WithLookup(..)
            | Op::PushScope(_)
            | Op::PopScope
            | Op::MarkRecursive(_)
            | Op::Call
            | Op::Return
            | Op::SelectDyn
            | Op::SelectDynOr(_)
            | Op::MakeAttrs(..)
            | Op::Div
            | Op::Concat
            | Op::Update
            | Op::Neg
            | Op::Interpolate(_)
            | Op::ToPath
            | Op::Overrides
            | Op::CheckFormals
            | Op::ArgThunk(..)
            | Op::Call2 => return Fast::Slow,
        }
        Fast::Done
    }

    /// Where the VM is now, as an error location, with the frames that led here and the
    /// messages of the `builtins.addErrorContext` calls it is inside.
    fn error_here(&mut self, kind: ErrorKind) -> EvalError {
        let mut location = None;
        let mut trace = Vec::new();
        // (place in `trace`, the message's value not yet computed), innermost first.
        let mut contexts: Vec<(usize, Value)> = Vec::new();
        // Each frame's current instruction is where the frame inside it was entered:
        // pair it with what that inner frame was doing.
        let mut inner: Option<String> = None;
        for f in self.frames.iter().rev() {
            if let Frame::Code(cf) = f {
                if cf.proto.file.text.is_empty() {
                    continue;
                }
                let span = cf
                    .proto
                    .spans
                    .get(cf.ip().saturating_sub(1))
                    .copied()
                    .unwrap_or(cf.proto.span);
                let loc = Location {
                    file: cf.proto.file.clone(),
                    span,
                };
                if location.is_none() {
                    location = Some(loc.clone());
                }
                if let Some(what) = inner.take() {
                    if trace.len() < 64 {
                        trace.push((what, Some(loc)));
                    }
                }
                for msg in contexts_at(cf) {
                    contexts.push((trace.len(), msg));
                }
                inner = Some(match (&cf.kind, cf.proto.kind) {
                    (_, ProtoKind::File) => {
                        format!("while evaluating the file '{}'", cf.proto.file.name)
                    }
                    (CodeKind::Call, _) => "while calling a function".to_string(),
                    (CodeKind::Thunk(..), _) => "while evaluating a value".to_string(),
                });
            } else if let Frame::Machine(m) = f {
                if let Some(msg) = m.machine.error_context() {
                    contexts.push((trace.len(), msg.clone()));
                }
            }
        }
        // Innermost first, as C++ Nix's handlers run: a message that fails to compute
        // takes the error's place (what was recorded inside it goes), and the contexts
        // further out are added to that error instead.
        let mut kind = kind;
        let mut texts: Vec<(usize, String)> = Vec::new();
        let mut dropped = 0;
        for (at, msg) in contexts {
            match self.context_message(msg) {
                Ok(text) => texts.push((at, text)),
                Err(e) => {
                    kind = e.kind;
                    location = e.location;
                    texts.clear();
                    dropped = at;
                }
            }
        }
        trace.drain(..dropped);
        // Outermost first, so each insertion leaves the places still to fill as they were.
        for (at, text) in texts.into_iter().rev() {
            trace.insert(at - dropped, (text, None));
        }
        EvalError {
            kind,
            location,
            trace,
        }
    }

    /// An `addErrorContext` message as text, computed in an evaluation of its own (the
    /// frames of this one are mid-error) and coerced to a string as C++ Nix does.
    fn context_message(&mut self, msg: Value) -> Result<String, EvalError> {
        let observed = self.state.observed;
        let to_string = self.state.global("__toString");
        let mut quiet = crate::NoObserver;
        let mut vm = Vm::new(&mut *self.state, &mut quiet, self.limits.clone());
        let text = match vm.force(msg) {
            Ok(Value::String(s)) => Ok(s.to_str_lossy().into_owned()),
            Ok(Value::Path(p)) => Ok(p.to_string_lossy().into_owned()),
            // `__toString` and `outPath`, or the error for any other set.
            Ok(v @ Value::Attrs(_)) => match to_string.map(|f| vm.call(f, v)) {
                Some(Ok(Value::String(s))) => Ok(s.to_str_lossy().into_owned()),
                Some(Err(e)) => Err(e),
                _ => Err(EvalError::new(
                    ErrorKind::other("cannot coerce a set to a string"),
                    None,
                )),
            },
            Ok(v) => Err(EvalError::new(
                ErrorKind::other(format!("cannot coerce {} to a string", v.describe())),
                None,
            )),
            Err(e) => Err(e),
        };
        drop(vm);
        self.state.observed = observed;
        text
    }

    fn unwind(&mut self, err: EvalError, stop: usize, sbase: usize) -> Result<(), EvalError> {
        if O::ACTIVE {
            let view = VmView::new(&self.frames, self.state);
            self.observer.on_error(&view, &err);
        }
        let catchable = err.kind.is_catchable();
        while self.frames.len() > stop {
            match self.frames.pop() {
                Some(Frame::Code(f)) => {
                    // A thunk being forced is put back, so forcing it again re-raises,
                    // as in C++ Nix.
                    if let CodeKind::Thunk(t) = f.kind {
                        t.unforce(f.proto);
                    }
                }
                Some(Frame::Machine(_)) => {}
                Some(Frame::Gen(mut g)) => {
                    if catchable && matches!(g.pending, Pending::Try(_)) {
                        self.stack.truncate(g.base);
                        g.pending = Pending::Caught(Box::new(err.kind.clone()));
                        self.frames.push(Frame::Gen(g));
                        return Ok(());
                    }
                }
                None => break,
            }
        }
        self.stack.truncate(sbase);
        Err(err)
    }

    /// An error if the frames are as deep as allowed: asked before a frame is built,
    /// so nothing built needs undoing.
    #[inline(always)]
    fn check_depth(&self) -> R<()> {
        if self.frames.len() >= self.limits.max_depth {
            return Err(depth_limit(self.limits.max_depth));
        }
        Ok(())
    }

    fn push_frame(&mut self, f: Frame) -> R<()> {
        self.check_depth()?;
        self.enter_frame(f);
        Ok(())
    }

    /// Push `f`, the depth limit already checked. Room is made before the frame is
    /// written, straight into its slot: `Vec::push` checks capacity between building
    /// the frame and storing it, so the frame was built on the machine stack and
    /// copied in.
    #[inline(always)]
    fn enter_frame(&mut self, f: Frame) {
        if self.frames.len() == self.frames.capacity() {
            grow_frames(&mut self.frames);
        }
        let n = self.frames.len();
        // SAFETY: slot `n` is within the capacity (made just above) and unused; the
        // length covers it only once it is written.
        unsafe {
            self.frames.as_mut_ptr().add(n).write(f);
            self.frames.set_len(n + 1);
        }
        if O::ACTIVE {
            let kind = self
                .frames
                .last()
                .map(|f| f.info(false).kind)
                .unwrap_or(FrameKind::Call);
            let view = VmView::new(&self.frames, self.state);
            self.observer.enter_frame(&view, kind);
        }
    }

    fn pop_frame(&mut self) -> Option<Frame> {
        if O::ACTIVE {
            let kind = self
                .frames
                .last()
                .map(|f| f.info(false).kind)
                .unwrap_or(FrameKind::Call);
            let view = VmView::new(&self.frames, self.state);
            self.observer.leave_frame(&view, kind);
        }
        self.frames.pop()
    }

    /// Pop the top frame, a code frame. Its fields are read where they are: popping a
    /// whole `Frame` copies it out first, and a code frame is the smaller part of one.
    #[inline(always)]
    fn pop_code_frame(&mut self) -> CodeFrame {
        if O::ACTIVE {
            let Some(Frame::Code(f)) = self.pop_frame() else {
                unreachable!("not a code frame")
            };
            return f;
        }
        let n = self.frames.len();
        let Some(Frame::Code(f)) = self.frames.last() else {
            unreachable!("not a code frame")
        };
        // SAFETY: the frame is moved out exactly once: the length is shortened right
        // after, so the vector neither drops nor hands it out again.
        unsafe {
            let f = std::ptr::read(f);
            self.frames.set_len(n - 1);
            f
        }
    }

    /// Put back `f`, the code frame `pop_code_frame` just took, nothing having
    /// touched the frame stack since: its slot still holds it, so only the length
    /// changes back (no observer: its leaving was seen, so it is entered again).
    #[inline(always)]
    fn unpop_code_frame(&mut self, f: CodeFrame) {
        if O::ACTIVE {
            self.enter_frame(Frame::Code(f));
            return;
        }
        let n = self.frames.len();
        // SAFETY: `pop_code_frame` moved the frame out of slot `n` by a bitwise read
        // and only shortened the length; nothing has been written to the vector since,
        // so the slot still holds the same bits as `f`, which is forgotten rather than
        // dropped: the frame is owned once again, by the vector.
        unsafe {
            debug_assert!(n < self.frames.capacity());
            std::mem::forget(f);
            self.frames.set_len(n + 1);
        }
    }

    /// `call_builtin` of `b` needs its strict argument `i`, `t`, forced first: `b` goes
    /// back in its slot (below the `k` arguments) and the call is re-run once `t` is
    /// done. A later argument waits for the first to pass `b`'s `check_first`.
    #[cold]
    #[inline(never)]
    fn builtin_demands(&mut self, b: Rc<BuiltinApp>, k: usize, i: usize, t: Thunk) -> R<()> {
        let n = self.stack.len();
        if let (Some(check), true) = (b.def.check_first, i > 0) {
            let first = b.args.first().unwrap_or(&self.stack[n - k]);
            generators::with_whnf(first, |v| Some(check(v))).unwrap_or(Ok(()))?;
        }
        self.stack[n - k - 1] = Value::Builtin(b);
        self.demand_unevaluated(t)
    }

    /// Begin forcing `t`: push its frame. `Ok(false)` if it is already evaluated.
    /// Taken by value: the frame keeps it, and every caller has its own handle.
    ///
    /// Compiled code (`Suspended`) and applications (`Apply`), nearly all forces, each
    /// have a function of their own, small enough to need few saved registers; the
    /// test between them is inlined, so each costs one call.
    #[inline(always)]
    fn start_force(&mut self, t: Thunk) -> R<bool> {
        let kind = match &*t.borrow() {
            ThunkState::Suspended { .. } => 0,
            _ if t.is_plain_apply() => 1,
            _ => 2,
        };
        match kind {
            0 => self.start_suspended(t),
            1 => self.start_apply(t),
            _ => self.start_force_other(t),
        }
    }

    /// `start_force` of a `Suspended` thunk.
    #[inline(never)]
    fn start_suspended(&mut self, t: Thunk) -> R<bool> {
        self.check_depth()?;
        let forcing = match &*t.borrow() {
            ThunkState::Suspended { env, .. } => ThunkState::Forcing(env.clone()),
            _ => unreachable!("checked by start_force"),
        };
        let ThunkState::Suspended { proto, env } = std::mem::replace(&mut *t.borrow_mut(), forcing)
        else {
            unreachable!("checked by start_force")
        };
        let base = self.stack.len();
        self.enter_thunk(t, proto, env, base);
        Ok(true)
    }

    /// Runs `t`'s code as a new frame. Unless `t` is `Forcing`, its restore has been
    /// pushed (it puts the thunk back if the force fails).
    #[inline(always)]
    fn enter_thunk(&mut self, t: Thunk, proto: Rc<Code>, env: EnvRc, base: usize) {
        self.enter_frame(Frame::Code(CodeFrame::new(
            proto,
            env,
            base,
            CodeKind::Thunk(t),
        )));
    }

    /// `start_force` of a plain `Apply` thunk (what `map` and `genList` make most).
    #[inline(never)]
    fn start_apply(&mut self, t: Thunk) -> R<bool> {
        self.check_depth()?;
        let base = self.stack.len();
        let (proto, env) = match &*t.borrow() {
            // A plain closure's body runs as the thunk's frame, without the trampoline
            // (its `Return` forces a lazy result, see `run_frames`).
            ThunkState::Apply(f, x) if f.proto.curried.is_none() && !O::ACTIVE => {
                (f.proto.clone(), self.call_env(f, x.clone()))
            }
            ThunkState::Apply(f, x) => self.apply_frame(Value::Closure(f.clone()), x.clone()),
            _ => unreachable!("checked by start_force"),
        };
        t.start_app();
        self.enter_thunk(t, proto, env, base);
        Ok(true)
    }

    /// `start_force` of anything but a `Suspended` or plain `Apply` thunk.
    #[inline(never)]
    fn start_force_other(&mut self, t: Thunk) -> R<bool> {
        if t.is_evaluated() {
            return Ok(false);
        }
        if t.is_forcing() {
            return Err(ErrorKind::InfiniteRecursion.into());
        }
        self.check_depth()?;
        let base = self.stack.len();
        let (proto, env) = match &*t.borrow() {
            ThunkState::ApplyOther(fx) => self.apply_frame(fx.0.clone(), fx.1.clone()),
            ThunkState::Apply(f, x) => match t.app_name() {
                Some(name) => self.apply_name_frame(f, name, x.clone()),
                None => self.apply_frame(Value::Closure(f.clone()), x.clone()),
            },
            _ => unreachable!("the other states have functions of their own"),
        };
        t.start_app();
        self.enter_thunk(t, proto, env, base);
        Ok(true)
    }

    /// Code and environment of a frame computing `f x` through the trampoline.
    fn apply_frame(&mut self, f: Value, x: Value) -> (Rc<Code>, EnvRc) {
        self.stack.push(f);
        self.stack.push(x);
        (trampoline(), self.empty_env.clone())
    }

    /// Code and environment of a frame computing `f name x` (`ThunkState::ApplyName`):
    /// for `name: x: body` the body itself with both arguments bound, as
    /// `push_call2` does for calls; otherwise the two-call trampoline.
    fn apply_name_frame(&mut self, f: &Rc<Closure>, name: Symbol, x: Value) -> (Rc<Code>, EnvRc) {
        let name = Value::String(NixString::of_symbol(name));
        if let (Some(inner), false) = (f.proto.curried, O::ACTIVE) {
            let code = f.proto.child(inner);
            let env = self.bind_env(f, &code, name, Some(x));
            return (code, env);
        }
        // `[x, f, name]`, as `trampoline2` takes them.
        self.stack.push(x);
        self.stack.push(Value::Closure(f.clone()));
        self.stack.push(name);
        (trampoline2(), self.empty_env.clone())
    }

    /// Step the current instruction back and push a frame forcing `t`, known not to be
    /// evaluated (the instruction runs again once it is).
    #[inline]
    fn demand_unevaluated(&mut self, t: Thunk) -> R<()> {
        code_frame!(self).skip(-1);
        match self.start_force(t) {
            Ok(_) => Ok(()),
            Err(e) => {
                code_frame!(self).skip(1);
                Err(e)
            }
        }
    }

    /// Like `demand_slot!` for a value that is not on the stack.
    #[inline]
    fn demand(&mut self, v: Value) -> R<Option<Value>> {
        match v {
            Value::Thunk(t) => match t.value() {
                Some(v) => Ok(Some(v)),
                None => self.demand_unevaluated(t).map(|()| None),
            },
            v => Ok(Some(v)),
        }
    }

    /// A frame for `machine`, about to start (see `start_machine`).
    #[inline(always)]
    fn push_machine(&mut self, name: &'static str, machine: Box<dyn Machine>) -> R<()> {
        let base = self.stack.len();
        self.push_frame(Frame::Machine(MachineFrame {
            machine,
            base,
            awaiting: Awaiting::Call,
            name,
        }))
    }

    fn push_gen(&mut self, name: &'static str, gen: Generator) -> R<()> {
        let base = self.stack.len();
        self.push_frame(Frame::Gen(Box::new(GenFrame {
            gen,
            base,
            pending: Pending::Start,
            name,
        })))
    }

    #[inline(never)]
    fn step_gen(&mut self) -> R<()> {
        let Some(Frame::Gen(g)) = self.frames.last_mut() else {
            unreachable!()
        };
        if matches!(g.pending, Pending::CallResult) && !self.settle_top()? {
            return Ok(());
        }
        let Some(Frame::Gen(g)) = self.frames.last_mut() else {
            unreachable!()
        };
        let resp = match std::mem::replace(&mut g.pending, Pending::Start) {
            Pending::Start => Response::Start,
            Pending::Ready(v) => Response::Value(v),
            Pending::Forced(t) => Response::Value(t.value().unwrap_or(Value::Null)),
            Pending::CallResult => Response::Value(self.stack.pop().unwrap_or_default()),
            Pending::Try(v) => Response::Value(v.shallow()),
            Pending::Caught(e) => Response::Caught(e),
        };
        match g.gen.resume_with(resp) {
            genawaiter::GeneratorState::Yielded(req) => match req {
                Request::Force(v) | Request::TryForce(v) if !matches!(v, Value::Thunk(_)) => {
                    g.pending = Pending::Ready(v);
                    Ok(())
                }
                Request::PathExists(p) => {
                    g.pending = Pending::Ready(Value::Bool(self.state.io.path_exists(&p)));
                    Ok(())
                }
                Request::Force(Value::Thunk(t)) => {
                    if let Some(v) = t.value() {
                        g.pending = Pending::Ready(v);
                        return Ok(());
                    }
                    g.pending = Pending::Forced(t.clone());
                    self.start_force(t)?;
                    Ok(())
                }
                Request::TryForce(Value::Thunk(t)) => {
                    if let Some(v) = t.value() {
                        g.pending = Pending::Ready(v);
                        return Ok(());
                    }
                    g.pending = Pending::Try(Value::Thunk(t.clone()));
                    self.start_force(t)?;
                    Ok(())
                }
                Request::Call(f, x) => {
                    g.pending = Pending::CallResult;
                    self.push_call(f, x)
                }
                Request::Call2(f, x, y) => {
                    g.pending = Pending::CallResult;
                    if let Some(v) = self.push_call2(f, x, y)? {
                        self.stack.push(v);
                    }
                    Ok(())
                }
                Request::ImportPath(p) => {
                    let v = builtins::strings::import_path(self.state, &p)?;
                    let Some(Frame::Gen(g)) = self.frames.last_mut() else {
                        unreachable!()
                    };
                    g.pending = Pending::Ready(v);
                    Ok(())
                }
                Request::Run(name, machine) => {
                    g.pending = Pending::CallResult;
                    self.start_machine(name, machine)
                }
                Request::Force(_) | Request::TryForce(_) => unreachable!(),
            },
            genawaiter::GeneratorState::Complete(res) => {
                let Some(Frame::Gen(g)) = self.pop_frame() else {
                    unreachable!()
                };
                self.stack.truncate(g.base);
                self.stack.push(res?);
                Ok(())
            }
        }
    }

    /// Start the call `f x y` for a builtin. Its result lands on the stack, possibly as
    /// an unevaluated thunk (see `settle_top`), unless it is answered at once without a
    /// frame (`Some`, see `quick_call2`).
    #[inline(always)]
    fn push_call2(&mut self, f: Value, x: Value, y: Value) -> R<Option<Value>> {
        if let Some(v) = self.quick_call2(&f, &x, &y) {
            discard(x);
            discard(y);
            return Ok(Some(v));
        }
        self.call2_frame(f, x, y).map(|()| None)
    }

    /// The answer of `f x y` had without a frame, if it can be: `f` a curried closure
    /// whose body is one integer operator on the two (`Code::quick2`: the comparators
    /// and operators `sort` and `foldl'` call most), integers for them, no overflow
    /// (the frame reports it), the depth below the limit (at the limit, `call2_frame`
    /// reports it). The arguments are looked at in place, not moved. The instructions
    /// it stands for still count against the step budget.
    #[inline(always)]
    fn quick_call2(&mut self, f: &Value, x: &Value, y: &Value) -> Option<Value> {
        if O::ACTIVE || self.frames.len() >= self.limits.max_depth {
            return None;
        }
        let v = quick2_answer(f, x, y)?;
        // `Local`, `Local`, the operator, `Return`.
        self.steps += QUICK2_STEPS - 1;
        Some(v)
    }

    /// The frame computing `f x y`, its result left on the stack.
    #[inline(always)]
    fn call2_frame(&mut self, f: Value, x: Value, y: Value) -> R<()> {
        match (f, O::ACTIVE) {
            (Value::Closure(c), false) if c.proto.curried.is_some() => {
                // `a: b: body`: bind both arguments in the inner lambda's environment and
                // run its body directly, without the trampoline or the intermediate
                // closure. The depth is checked first: nothing built needs undoing.
                self.check_depth()?;
                let Some(inner) = c.proto.curried else {
                    unreachable!("checked above")
                };
                let code = c.proto.child(inner);
                let env = self.bind_env(&c, &code, x, Some(y));
                let base = self.stack.len();
                self.enter_frame(Frame::Code(CodeFrame::new(code, env, base, CodeKind::Call)));
                Ok(())
            }
            (f, _) => self.push_call2_trampoline(f, x, y),
        }
    }

    /// `push_call2` of anything but a curried closure.
    #[inline(never)]
    fn push_call2_trampoline(&mut self, f: Value, x: Value, y: Value) -> R<()> {
        let base = self.stack.len();
        // `y` waits below the first call and is swapped above its result.
        self.stack.push(y);
        self.stack.push(f);
        self.stack.push(x);
        let env = self.empty_env.clone();
        self.push_frame(Frame::Code(CodeFrame::new(
            trampoline2(),
            env,
            base,
            CodeKind::Call,
        )))
    }

    /// Start the call `f x` for a builtin; like `push_call2`. A plain closure's body runs
    /// directly; anything else goes through the trampoline.
    #[inline(always)]
    fn push_call(&mut self, f: Value, x: Value) -> R<()> {
        let f = match (f, O::ACTIVE) {
            (Value::Closure(c), false) if c.proto.curried.is_none() => {
                self.check_depth()?;
                let env = self.call_env(&c, x);
                let base = self.stack.len();
                self.enter_frame(Frame::Code(CodeFrame::new(
                    c.proto.clone(),
                    env,
                    base,
                    CodeKind::Call,
                )));
                return Ok(());
            }
            (f, _) => f,
        };
        self.push_call_trampoline(f, x)
    }

    /// `push_call` of anything but a plain closure.
    #[inline(never)]
    fn push_call_trampoline(&mut self, f: Value, x: Value) -> R<()> {
        let base = self.stack.len();
        self.stack.push(f);
        self.stack.push(x);
        let env = self.empty_env.clone();
        self.push_frame(Frame::Code(CodeFrame::new(
            trampoline(),
            env,
            base,
            CodeKind::Call,
        )))
    }

    /// Force the call result on top of the stack. `false` if a frame forcing it was
    /// pushed (the caller runs again once it is done).
    #[inline(always)]
    fn settle_top(&mut self) -> R<bool> {
        match self.stack.last() {
            Some(Value::Thunk(_)) => self.settle_thunk_top(),
            _ => Ok(true),
        }
    }

    /// `settle_top` of a thunk.
    #[inline(never)]
    fn settle_thunk_top(&mut self) -> R<bool> {
        if let Some(Value::Thunk(t)) = self.stack.last() {
            match t.value() {
                Some(v) => *self.stack.last_mut().expect("checked") = v,
                None => {
                    let t = t.clone();
                    self.start_force(t)?;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    #[inline(never)]
    fn step_machine(&mut self) -> R<()> {
        let Some(Frame::Machine(m)) = self.frames.last_mut() else {
            unreachable!()
        };
        // Left as `Call`: what a call step (the common one) needs, with no store.
        let last = match std::mem::replace(&mut m.awaiting, Awaiting::Call) {
            Awaiting::Call => {
                // If the result is lazy, its force runs first and this comes back.
                if !self.settle_top()? {
                    return Ok(());
                }
                self.stack.pop()
            }
            // The frame forcing it is done (a failed force unwinds this frame too).
            Awaiting::Force(t) => match t.value() {
                Some(v) => Some(v),
                None => return self.machine_force(t),
            },
        };
        self.resume_machine(last)
    }

    /// Resume the machine on top with `last`, until it asks for something that needs a
    /// frame or is done. A value to force that already is one goes straight back to
    /// it. A call `quick2_answer` settles never arrives here: the machines that call
    /// twice (`foldl'`, `sort`) answer those themselves (`Machine::answer_quick_calls`,
    /// always asked for when no observer watches), and with an observer every call
    /// takes a frame.
    #[inline(always)]
    fn resume_machine(&mut self, mut last: Option<Value>) -> R<()> {
        loop {
            let step = machine_frame!(self).machine.resume(last.take());
            match step? {
                MachineStep::Force(v) => match v {
                    Value::Thunk(t) => match t.value() {
                        Some(v) => last = Some(v),
                        None => return self.machine_force(t),
                    },
                    v => last = Some(v),
                },
                MachineStep::Call(f, x) => return self.push_call(f, x),
                MachineStep::Call2(f, x, y) => return self.call2_frame(f, x, y),
                MachineStep::Tick(n) => self.tick(n)?,
                MachineStep::Done(v) => {
                    let Some(Frame::Machine(m)) = self.pop_frame() else {
                        unreachable!()
                    };
                    cut(&mut self.stack, m.base);
                    self.stack.push(v);
                    return Ok(());
                }
            }
            self.check_limits()?;
        }
    }

    /// Run `machine` as a new frame, its answer left on the stack: its first steps
    /// run at once, up to what takes a frame of its own (a force, a call) or its end.
    #[inline(never)]
    fn start_machine(&mut self, name: &'static str, mut machine: Box<dyn Machine>) -> R<()> {
        if !O::ACTIVE {
            machine.answer_quick_calls();
        }
        self.push_machine(name, machine)?;
        self.check_limits()?;
        self.resume_machine(None)
    }

    /// Count `n` steps a machine took on its own (see `MachineStep::Tick`), then check
    /// the budget.
    #[cold]
    fn tick(&mut self, n: u64) -> R<()> {
        self.steps = self.steps.wrapping_add(n);
        self.check_budget()
    }

    /// Force `t` for the machine on top, which resumes with its value.
    #[inline(always)]
    fn machine_force(&mut self, t: Thunk) -> R<()> {
        machine_frame!(self).awaiting = Awaiting::Force(t.clone());
        self.start_force(t).map(drop)
    }

    /// The step budget and the cancel flag, checked whenever a frame starts or
    /// resumes running code: one compare, as the limits are only looked at once the
    /// steps reach `check_at`.
    #[inline(always)]
    fn check_budget(&mut self) -> R<()> {
        if self.steps >= self.check_at {
            return self.check_budget_now();
        }
        Ok(())
    }

    /// The limits themselves. The next look is due after `BUDGET_STRIDE` more steps
    /// (the latency of a cancel), or just past the step limit (reported exactly when
    /// it is exceeded, as before).
    #[cold]
    #[inline(never)]
    fn check_budget_now(&mut self) -> R<()> {
        if let Some(max) = self.limits.max_steps {
            if self.steps > max {
                return Err(ErrorKind::StepLimit(max).into());
            }
        }
        if let Some(c) = &self.limits.cancel {
            if c.load(Ordering::Relaxed) {
                return Err(ErrorKind::Cancelled.into());
            }
        }
        let next = self.steps.saturating_add(BUDGET_STRIDE);
        self.check_at = match self.limits.max_steps {
            Some(max) => next.min(max.saturating_add(1)),
            None => next,
        };
        Ok(())
    }

    /// One step of a builtin's frame counts as an instruction.
    #[inline(always)]
    fn check_limits(&mut self) -> R<()> {
        self.steps = self.steps.wrapping_add(1);
        self.check_budget()
    }

    #[inline]
    fn top(&self) -> &Value {
        self.stack.last().expect("stack underflow")
    }

    #[inline]
    fn pop(&mut self) -> Value {
        self.stack.pop().expect("stack underflow")
    }

    /// `Op::GetFormal`: whether formal `i` was in the call's argument set, so the code
    /// goes on past its default's, as the mask `CheckFormals` left on top of the stack
    /// says. A formal past the mask's bits shares its last one, so that bit set only
    /// sends those to the argument set to look. Out of line: inlined, it changes how
    /// `run_frames` is compiled, at a cost of more than it saves. It answers rather
    /// than jumps: given the address of `pc`, it kept `pc` out of a register.
    #[inline(never)]
    fn formal_given(&self, code: &Code, env: &EnvRc, i: u32) -> bool {
        let Some(&Value::Int(mask)) = self.stack.last() else {
            unreachable!("GetFormal without the mask of CheckFormals")
        };
        mask as u64 & default_bit(i) == 0 || (i >= LAST_BIT && formal_passed(code, env, i))
    }

    /// `Op::PushScope`: the top code frame continues in a fresh scope inside its own.
    #[inline(never)]
    fn push_scope(&mut self, i: u32) {
        let f = code_frame!(self);
        let info = f.proto.scope(i);
        let (n, kind) = (info.names.len(), info.kind);
        let parent = f.env.clone();
        let recursive = matches!(kind, ScopeKind::Let | ScopeKind::RecAttrs);
        let env = self.new_env(n, parent);
        if recursive {
            self.state.scopes.register(&env);
        }
        code_frame!(self).env = env;
    }

    /// Run `op`, the instruction just fetched from the top code frame (whose `ip`
    /// points past it), in full generality. Instructions `fast_op` always completes,
    /// and calls and returns (which `run_frames` does itself), never reach here.
    #[inline(never)]
    fn step(&mut self, op: Op) -> R<()> {
        match op {
            Op::ArgThunk(i, pos) => {
                let f = code_frame!(self);
                let code = f.proto.child(i);
                let env = f.env.clone();
                // An observer sees the thunk and its force, as without the test.
                if !O::ACTIVE && head_forces(&self.stack, pos) {
                    // What the call does first: its value is left where the thunk
                    // would have been.
                    self.push_call_frame(code, env)?;
                } else {
                    self.stack.push(Value::Thunk(Thunk::suspended(code, env)));
                }
            }
            Op::WithLookup(sym, chain) => {
                let f = code_frame!(self);
                let proto = f.proto.clone();
                let env = f.env.clone();
                for &(d, s) in &proto.with_chains[chain as usize] {
                    let v = env.ancestor(d).slots.borrow()[s as usize].clone();
                    let Some(v) = self.demand(v)? else {
                        return Ok(());
                    };
                    match &v {
                        Value::Attrs(a) => {
                            if let Some(x) = a.get(sym) {
                                self.stack.push(x.clone());
                                return Ok(());
                            }
                        }
                        other => return Err(generators::type_error("a set", other)),
                    }
                }
                return Err(ErrorKind::UndefinedVariable {
                    name: sym.as_str().to_string(),
                    suggestion: None,
                }
                .into());
            }
            Op::Force => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
            }
            Op::Select(sym) => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                let v = match self.top() {
                    Value::Attrs(a) => match a.get(sym) {
                        Some(v) => v.clone(),
                        None => return Err(missing_attr(sym.as_str(), a)),
                    },
                    other => return Err(generators::type_error("a set", other)),
                };
                self.stack[n] = v;
            }
            Op::SelectOr(sym, target) => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                let found = match self.top() {
                    Value::Attrs(a) => a.get(sym).cloned(),
                    _ => None,
                };
                match found {
                    Some(v) => self.stack[n] = v,
                    None => {
                        self.pop();
                        code_frame!(self).jump(target);
                    }
                }
            }
            Op::SelectDyn | Op::SelectDynOr(_) => {
                let n = self.stack.len();
                demand_slot!(self, n - 1);
                demand_slot!(self, n - 2);
                let key = self.pop();
                let sym = attr_name(&key)?;
                let found = match self.top() {
                    Value::Attrs(a) => match a.get(sym) {
                        Some(v) => Some(v.clone()),
                        None if op == Op::SelectDyn => return Err(missing_attr(sym.as_str(), a)),
                        None => None,
                    },
                    other if op == Op::SelectDyn => {
                        return Err(generators::type_error("a set", other))
                    }
                    _ => None,
                };
                match (found, op) {
                    (Some(v), _) => self.stack[n - 2] = v,
                    (None, Op::SelectDynOr(target)) => {
                        self.pop();
                        code_frame!(self).jump(target);
                    }
                    _ => unreachable!(),
                }
            }
            _ => return self.step_rest(op),
        }
        Ok(())
    }

    /// `Op::MarkRecursive`: out of line, being rare next to the ops around it.
    #[inline(never)]
    fn mark_recursive(&mut self, first: u32) {
        let env = code_frame!(self).env.clone();
        self.state.scopes.register_from(&env, first as usize);
    }

    #[inline(always)]
    fn step_rest(&mut self, op: Op) -> R<()> {
        match op {
            Op::MarkRecursive(first) => self.mark_recursive(first),
            Op::HasStep(..) | Op::HasLast(_) | Op::HasStepDyn(_) | Op::HasLastDyn => {
                let dynamic = matches!(op, Op::HasStepDyn(_) | Op::HasLastDyn);
                let n = self.stack.len();
                let set_idx = if dynamic { n - 2 } else { n - 1 };
                if dynamic {
                    demand_slot!(self, n - 1);
                }
                demand_slot!(self, set_idx);
                let sym = match op {
                    Op::HasStep(s, _) | Op::HasLast(s) => s,
                    _ => {
                        let k = self.pop();
                        attr_name(&k)?
                    }
                };
                let (r, jump) = match &self.stack[set_idx] {
                    Value::Attrs(a) => has_result(a.get(sym), op),
                    _ => has_result(None, op),
                };
                self.stack[set_idx] = r;
                if let Some(t) = jump {
                    code_frame!(self).jump(t);
                }
            }
            Op::MakeAttrs(k, ndyn) => {
                let ndyn = ndyn as usize;
                let n = self.stack.len();
                for i in 0..ndyn {
                    demand_slot!(self, n - 2 * ndyn + 2 * i);
                }
                let proto = code_frame!(self).proto.clone();
                let a = dynamic_attrs(&mut self.stack, &proto, k, ndyn)?;
                let attrs = a.with_pos(proto.attr_pos[k as usize].clone());
                self.stack.push(Value::attrs(attrs));
            }
            Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Lt
            | Op::Ge
            | Op::Eq
            | Op::Neq
            | Op::Concat
            | Op::Update => {
                let n = self.stack.len();
                demand_slot!(self, n - 2);
                // `//` and `+` check their left operand before the right one is forced, as
                // C++ Nix does.
                match op {
                    Op::Update if !matches!(self.stack[n - 2], Value::Attrs(_)) => {
                        return Err(generators::type_error("a set", &self.stack[n - 2]));
                    }
                    Op::Add => builtins::arith::check_add_left(&self.stack[n - 2])?,
                    _ => {}
                }
                demand_slot!(self, n - 1);
                // Integers that were thunks a moment ago: as in `fast_op`.
                if let (Value::Int(x), Value::Int(y)) = (&self.stack[n - 2], &self.stack[n - 1]) {
                    if let Some(v) = int_binop(op, *x, *y) {
                        self.stack.truncate(n - 1);
                        self.stack[n - 2] = v;
                        return Ok(());
                    }
                }
                let b = self.pop();
                let a = self.pop();
                let r = match op {
                    Op::Add => match (&a, &b) {
                        (Value::String(_), Value::Attrs(_)) | (Value::Attrs(_), _) => {
                            return self.push_gen(
                                "add",
                                builtins::strings::interpolate_gen(vec![a, b], false),
                            );
                        }
                        _ => builtins::arith::add(self.state, a, b)?,
                    },
                    Op::Sub => builtins::arith::sub(a, b)?,
                    Op::Mul => builtins::arith::mul(a, b)?,
                    Op::Div => builtins::arith::div(a, b)?,
                    Op::Eq | Op::Neq => {
                        let neg = op == Op::Neq;
                        match builtins::compare::quick_eq(&a, &b) {
                            Some(r) => Value::Bool(r != neg),
                            None => {
                                let m = builtins::compare::DeepEq::new(a, b, neg);
                                return self.start_machine("==", Box::new(m));
                            }
                        }
                    }
                    Op::Lt | Op::Ge => {
                        let negate = op == Op::Ge;
                        match builtins::compare::shallow_lt(&a, &b)? {
                            Some(r) => Value::Bool(r != negate),
                            None => {
                                return self.push_gen("<", builtins::compare::lt_gen(a, b, negate));
                            }
                        }
                    }
                    Op::Concat => match (a, b) {
                        (Value::List(x), Value::List(y)) => Value::List(NixList::concat(&[x, y])),
                        (Value::List(_), other) | (other, _) => {
                            return Err(generators::type_error("a list", &other))
                        }
                    },
                    Op::Update => match (a, b) {
                        (Value::Attrs(x), Value::Attrs(y)) => {
                            if y.is_empty() {
                                Value::Attrs(x)
                            } else if x.is_empty() {
                                Value::Attrs(y)
                            } else {
                                Value::attrs(x.update(&y))
                            }
                        }
                        (Value::Attrs(_), other) | (other, _) => {
                            return Err(generators::type_error("a set", &other))
                        }
                    },
                    _ => unreachable!(),
                };
                self.stack.push(r);
            }
            Op::Not => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                match self.top() {
                    Value::Bool(b) => self.stack[n] = Value::Bool(!b),
                    other => return Err(generators::type_error("a Boolean", other)),
                }
            }
            Op::Neg => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                let v = self.pop();
                self.stack.push(builtins::arith::sub(Value::Int(0), v)?);
            }
            Op::JumpIfFalse(t) | Op::JumpIfTrue(t) => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                let b = match self.pop() {
                    Value::Bool(b) => b,
                    other => return Err(generators::type_error("a Boolean", &other)),
                };
                if b == matches!(op, Op::JumpIfTrue(_)) {
                    code_frame!(self).jump(t);
                }
            }
            Op::AssertBool => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                if !matches!(self.top(), Value::Bool(_)) {
                    return Err(generators::type_error("a Boolean", self.top()));
                }
            }
            Op::Assert => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                match self.pop() {
                    Value::Bool(true) => {}
                    Value::Bool(false) => return Err(ErrorKind::AssertionFailed.into()),
                    other => return Err(generators::type_error("a Boolean", &other)),
                }
            }
            Op::Interpolate(n) => {
                let n = n as usize;
                let len = self.stack.len();
                for i in len - n..len {
                    demand_slot!(self, i);
                }
                let path_mode = {
                    let f = code_frame!(self);
                    matches!(f.proto.ops.get(f.ip()), Some(Op::ToPath))
                };
                fn strings(p: &Value) -> Option<&NixString> {
                    match p {
                        Value::String(s) => Some(s),
                        _ => None,
                    }
                }
                if self.stack[len - n..].iter().all(|p| strings(p).is_some()) {
                    let s = NixString::concat(self.stack[len - n..].iter().filter_map(strings));
                    self.stack.truncate(len - n);
                    self.stack.push(Value::String(s));
                    return Ok(());
                }
                let parts: Vec<Value> = self.stack.drain(len - n..).collect();
                if parts
                    .iter()
                    .all(|p| matches!(p, Value::String(_) | Value::Path(_)))
                {
                    let mut sb = StringBuilder::default();
                    for p in &parts {
                        match p {
                            Value::String(s) => sb.push(s),
                            Value::Path(p) if path_mode => {
                                sb.push_bytes(p.to_string_lossy().as_bytes())
                            }
                            Value::Path(p) => {
                                let sp = self.state.io.import_path(p).map_err(ErrorKind::Io)?;
                                sb.ctx.insert(sp.clone());
                                sb.push_bytes(sp.as_bytes());
                            }
                            _ => unreachable!(),
                        }
                    }
                    self.stack.push(Value::String(sb.finish()));
                } else {
                    return self.push_gen(
                        "interpolation",
                        builtins::strings::interpolate_gen(parts, path_mode),
                    );
                }
            }
            Op::ToPath => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                let v = self.pop();
                let s = match &v {
                    Value::String(s) => s.to_str_lossy().into_owned(),
                    Value::Path(p) => p.to_string_lossy().into_owned(),
                    other => return Err(generators::type_error("a string", other)),
                };
                if !s.starts_with('/') {
                    return Err(ErrorKind::other(format!(
                        "string '{s}' doesn't represent an absolute path"
                    ))
                    .into());
                }
                let p = crate::compiler::canon_path(std::path::Path::new(&s));
                self.stack.push(Value::Path(Rc::new(p)));
            }
            Op::Overrides => {
                let n = self.stack.len() - 1;
                demand_slot!(self, n);
                let ov = self.pop();
                let Value::Attrs(ov) = ov else {
                    return Err(generators::type_error("a set", &ov));
                };
                let f = code_frame!(self);
                // The `rec` set's scope, which the frame is in: its names are the code's.
                if let Some(names) = f.proto.names_at(f.ip()) {
                    let info = &names.info;
                    let mut slots = f.env.slots.borrow_mut();
                    for (k, v) in ov.iter() {
                        if let Some(i) = info.names.iter().position(|n| *n == Some(k)) {
                            slots[i] = v.clone();
                        }
                    }
                }
            }
            Op::CheckFormals => {
                let f = code_frame!(self);
                let at = f.proto.fused;
                // The argument is forced in its slot (`@args` reads it there); most
                // arrive as sets, which need neither a force nor a store.
                let arg = match &f.env.slots.borrow()[at] {
                    Value::Attrs(a) => Some(a.clone()),
                    _ => None,
                };
                let a = match arg {
                    Some(a) => a,
                    None => {
                        let arg = f.env.slots.borrow()[at].clone();
                        let Some(arg) = self.demand(arg)? else {
                            return Ok(());
                        };
                        code_frame!(self).env.slots.borrow_mut()[at] = arg.clone();
                        let Value::Attrs(a) = arg else {
                            return Err(generators::type_error("a set", &arg));
                        };
                        a
                    }
                };
                let f = code_frame!(self);
                let proto = f.proto.clone();
                let formals = proto
                    .lambda
                    .as_ref()
                    .and_then(|l| l.formals.as_ref())
                    .expect("CheckFormals without formals");
                // Every formal passed is bound here, in one pass; the mask of those
                // with a default that were not passed is left on the stack for their
                // `GetFormal`s (see `formal_given`). Without `...` every name passed must
                // be a formal: the walk over the names that checks so binds them too.
                // A missing formal is reported before a name that is none (as Nix does).
                let walk = !formals.ellipsis && formals.entries.len() <= LAST_BIT as usize;
                let mut slots = f.env.slots.borrow_mut();
                let mut passed = 0u64;
                let mut unexpected = None;
                if walk {
                    for (k, v) in a.iter() {
                        match formals.entries.iter().position(|(s, _)| *s == k) {
                            Some(i) => {
                                fill(&mut slots[at + i + 1], v.clone());
                                passed |= 1 << i;
                            }
                            None => {
                                unexpected.get_or_insert(k);
                            }
                        }
                    }
                }
                let mut missing = 0u64;
                for (i, (s, _)) in formals.entries.iter().enumerate() {
                    let found = match walk {
                        true if passed & 1 << i != 0 => continue,
                        true => None,
                        false => a.get(*s),
                    };
                    match found {
                        Some(v) => fill(&mut slots[at + i + 1], v.clone()),
                        None if formals.has_default[i] => missing |= default_bit(i as u32),
                        None => {
                            return Err(ErrorKind::MissingArgument {
                                function: "anonymous lambda".into(),
                                name: s.as_str().to_string(),
                            }
                            .into())
                        }
                    }
                }
                if !walk && !formals.ellipsis {
                    let formal = |k: &Symbol| formals.entries.iter().any(|(s, _)| s == k);
                    unexpected = a.keys().find(|k| !formal(k));
                }
                if let Some(k) = unexpected {
                    return Err(unexpected_argument(formals, k));
                }
                // Ends the borrow: a guard with a `Drop` in debug builds only.
                #[allow(clippy::drop_non_drop)]
                drop(slots);
                if missing != 0 {
                    // The defaults are stored into the call's own scope: a possible cycle.
                    self.state.scopes.register(&f.env);
                }
                self.stack.push(Value::Int(missing as i64));
            }
            _ => unreachable!("handled in fast_op, run_frames or step: {op:?}"),
        }
        Ok(())
    }

    /// Leave the top code frame with the value on top of the stack; unless that is an
    /// unevaluated thunk left by a thunk's frame, which is then handed back with the
    /// frame still on top.
    #[inline(always)]
    fn op_return(&mut self) -> Option<Thunk> {
        let CodeFrame {
            proto,
            pc,
            base,
            kind,
            env,
        } = self.pop_code_frame();
        match kind {
            // A body leaves just its result above `base` (nearly always): it is
            // already where the caller wants it.
            CodeKind::Call => {
                drop(proto);
                if self.stack.len() != base + 1 {
                    let v = self.stack.pop().unwrap_or_default();
                    self.stack.truncate(base);
                    self.stack.push(v);
                }
            }
            CodeKind::Thunk(t) => {
                // An unevaluated value is forced here: a thunk's code ends with a plain
                // `Return` (see `Compiler::thunk_code`), and an application runs its
                // function's body as the thunk's frame (see `start_apply`). Looked at
                // here, where the value is looked at anyway; the frame goes back.
                if let Some(Value::Thunk(inner)) = self.stack.last() {
                    if !inner.is_evaluated() {
                        let inner = inner.clone();
                        let f = CodeFrame {
                            proto,
                            pc,
                            env,
                            base,
                            kind: CodeKind::Thunk(t),
                        };
                        self.unpop_code_frame(f);
                        return Some(inner);
                    }
                }
                drop(proto);
                let v = self.stack.pop().unwrap_or_default();
                self.stack.truncate(base);
                let v = match v {
                    Value::Thunk(inner) => inner.value().unwrap_or(Value::Thunk(inner)),
                    v => v,
                };
                let old = std::mem::replace(&mut *t.borrow_mut(), ThunkState::Evaluated(v));
                // The common states inline: no call into the general drop, nor for
                // an argument that is a scalar.
                // One state at a time: each test is one compare of the tag, where a
                // `match` would first compute the state's index from it (the states
                // are told apart by the values `Apply`'s `Value` tag cannot take).
                if let ThunkState::Forcing(env) = old {
                    drop(env)
                } else if let ThunkState::Apply(f, x) = old {
                    drop(f);
                    discard(x);
                } else {
                    drop(old)
                }
            }
        }
        self.recycle_env(env);
        None
    }

    /// A fresh environment of `n` slots (all `null`), from the pool when it has one.
    #[inline(always)]
    fn new_env(&mut self, n: usize, parent: EnvRc) -> EnvRc {
        if let Some(pool) = self.env_pool.get_mut(n) {
            if let Some(mut e) = pool.head.take() {
                // Only the pool holds it, so this always succeeds.
                if let Some(m) = EnvRc::get_mut(&mut e) {
                    // Its slots were emptied to nulls when it was recycled; its parent
                    // field holds the next one of the pool.
                    pool.head = m.parent.replace(parent);
                    pool.len -= 1;
                    return e;
                }
                pool.len = 0;
            }
        }
        Env::new(n, Some(parent))
    }

    /// The environment of a call of `c` with argument `x`.
    #[inline(always)]
    fn call_env(&mut self, c: &Closure, x: Value) -> EnvRc {
        if c.proto.fused == 0 {
            let env = self.new_env(c.proto.call_size, c.env.clone());
            fill(&mut env.slots.borrow_mut()[0], x);
            return env;
        }
        self.bind_env(c, &c.proto, x, None)
    }

    /// `call_env` for a fused closure (`Proto::fused`) the caller owns, with its code.
    /// When nothing else holds the closure or its environment (a partial application
    /// called once, as in `f a b`) the slots it continues are moved rather than cloned,
    /// and that environment goes back to the pool.
    #[inline(always)]
    fn call_env_owned(&mut self, c: Rc<Closure>, x: Value) -> (Rc<Code>, EnvRc) {
        let keep = c.proto.fused;
        let c = match Rc::try_unwrap(c) {
            Ok(Closure { proto, mut env }) => {
                if let Some(from) = EnvRc::get_mut(&mut env) {
                    let parent = from
                        .parent
                        .clone()
                        .unwrap_or_else(|| self.empty_env.clone());
                    let new = self.new_env(proto.call_size, parent);
                    {
                        let mut slots = new.slots.borrow_mut();
                        let from = from.slots.get_mut().iter_mut();
                        for (to, v) in slots.iter_mut().zip(from).take(keep) {
                            fill(to, std::mem::replace(v, Value::Null));
                        }
                        fill(&mut slots[keep], x);
                    }
                    self.recycle_env(env);
                    return (proto, new);
                }
                // Held once, but its environment is shared: copy as for a shared one.
                let c = Closure { proto, env };
                let env = self.call_env(&c, x);
                return (c.proto, env);
            }
            Err(c) => c,
        };
        let env = self.call_env(&c, x);
        (c.proto.clone(), env)
    }

    /// `op_call` of a closure that continues its closure's environment (the inner
    /// lambda of `a: b: ...`, applied after the outer one).
    #[inline(never)]
    fn call_fused(&mut self, c: Rc<Closure>, x: Value) -> R<()> {
        let (proto, env) = self.call_env_owned(c, x);
        self.enter_call(proto, env)
    }

    /// Run `code`'s body in `env`, its call environment; when the body only makes
    /// the next lambda of a curried chain, make that closure without a frame.
    #[inline(always)]
    fn enter_call(&mut self, code: Rc<Code>, env: EnvRc) -> R<()> {
        if let (Some(next), false) = (code.curried, O::ACTIVE) {
            self.stack.push(Value::Closure(Rc::new(Closure {
                proto: code.child(next),
                env,
            })));
            return Ok(());
        }
        self.push_call_frame(code, env)
    }

    /// Push the frame of a call running `code` in `env`. Inlined into the call paths:
    /// the frame is then written straight into the frame stack, not built and copied.
    #[inline(always)]
    fn push_call_frame(&mut self, code: Rc<Code>, env: EnvRc) -> R<()> {
        self.check_depth()?;
        let base = self.stack.len();
        self.enter_frame(Frame::Code(CodeFrame::new(code, env, base, CodeKind::Call)));
        Ok(())
    }

    /// `Op::Call2`: `[f, x, y]`. A curried closure `f` gets both arguments in one
    /// environment; a builtin that `x` does not saturate takes it here and `y` goes to
    /// the last `Call`; anything else is left as `[y, f, x]` for the `Call, Swap, Call`
    /// after.
    #[inline(never)]
    fn op_call2(&mut self) -> R<()> {
        let n = self.stack.len();
        // Looked at in place: a closure is then moved off the stack, not cloned.
        if let Value::Thunk(t) = &self.stack[n - 3] {
            if let Some(v) = t.value() {
                self.stack[n - 3] = v;
            }
        }
        match &self.stack[n - 3] {
            Value::Closure(c) if c.proto.curried.is_some() && !O::ACTIVE => {}
            // Both arguments go to the builtin at once: no intermediate partial
            // application, and the `Call, Swap, Call` after are skipped.
            Value::Builtin(b) if b.args.len() + 2 <= b.def.arity => {
                let b = take_builtin(&mut self.stack[n - 3]);
                return self.call_builtin(b, 2, 3);
            }
            _ => {
                self.stack[n - 3..].rotate_right(1);
                return Ok(());
            }
        }
        let y = self.pop();
        let x = self.pop();
        let Value::Closure(c) = self.pop() else {
            unreachable!("checked above")
        };
        code_frame!(self).skip(3);
        let Some(inner) = c.proto.curried else {
            unreachable!("checked above")
        };
        let code = c.proto.child(inner);
        let env = self.bind_env(&c, &code, x, Some(y));
        // `a: b: c: ...` given two makes the closure waiting for the third.
        self.enter_call(code, env)
    }

    /// The environment `code` runs in when `c` is called with `x` (and, when `code` is
    /// the lambda `c`'s body makes, `y`): `c`'s slots that `code` continues (see
    /// `Proto::fused`), then the arguments, in place of `c`'s own environment.
    #[inline(always)]
    fn bind_env(&mut self, c: &Closure, code: &Code, x: Value, y: Option<Value>) -> EnvRc {
        let keep = c.proto.fused;
        let parent = match keep {
            0 => c.env.clone(),
            _ => c
                .env
                .parent
                .clone()
                .unwrap_or_else(|| self.empty_env.clone()),
        };
        let env = self.new_env(code.call_size, parent);
        {
            let mut cell = env.slots.borrow_mut();
            // The slots once, not a look through the borrow per access.
            let slots: &mut [Value] = &mut cell;
            if keep > 0 {
                let from = c.env.slots.borrow();
                for (to, v) in slots.iter_mut().zip(from.iter()).take(keep) {
                    fill(to, v.clone());
                }
            }
            fill(&mut slots[keep], x);
            if let Some(y) = y {
                fill(&mut slots[keep + 1], y);
            }
        }
        env
    }

    /// Done with a frame's environment: if nothing else holds it (no closure or thunk
    /// captured it), keep its allocation for the next call, and so on up its parents
    /// (a curried call's outer scope). What it held is freed now.
    #[inline(always)]
    fn recycle_env(&mut self, mut env: EnvRc) {
        loop {
            let Some(m) = EnvRc::get_mut(&mut env) else {
                return;
            };
            let slots = m.slots.get_mut();
            let Some(pool) = self.env_pool.get_mut(slots.len()) else {
                return;
            };
            if pool.len as usize >= ENV_POOL {
                return;
            }
            // Emptied in place: the next environment of the same size needs no new block.
            for v in slots.iter_mut() {
                // Scalars (the common argument: an integer, a Boolean) are overwritten
                // without a call into the general drop.
                set(v, Value::Null);
            }
            let parent = std::mem::replace(&mut m.parent, pool.head.take());
            pool.head = Some(env);
            pool.len += 1;
            match parent {
                Some(p) => env = p,
                None => return,
            }
        }
    }

    fn op_call(&mut self) -> R<()> {
        let n = self.stack.len();
        demand_slot!(self, n - 2);
        match &self.stack[n - 2] {
            Value::Closure(_) => {
                let x = self.pop();
                let Value::Closure(c) = self.pop() else {
                    unreachable!("checked above")
                };
                if c.proto.fused != 0 {
                    return self.call_fused(c, x);
                }
                if let (Some(inner), false) = (c.proto.curried, O::ACTIVE) {
                    // `(a: b: ...) x` only makes a closure: no frame needed (unless an
                    // observer wants to see the call).
                    let env = self.call_env(&c, x);
                    self.stack.push(Value::Closure(Rc::new(Closure {
                        proto: c.proto.child(inner),
                        env,
                    })));
                    return Ok(());
                }
                let env = self.call_env(&c, x);
                self.push_call_frame(c.proto.clone(), env)
            }
            Value::Builtin(b) => {
                // A strict argument still to be computed, which the call would force
                // before anything else: forced here, without taking the call apart
                // (it runs again once the argument is a value, as after
                // `builtin_demands`). Machines, which force nothing first, are told
                // apart before anything else is looked at.
                if let (Value::Thunk(t), BuiltinImpl::Plain(_)) = (&self.stack[n - 1], &b.def.imp) {
                    if !t.is_evaluated() && builtin_forces(b, &[], 1) {
                        let t = t.clone();
                        return self.demand_unevaluated(t);
                    }
                }
                let b = take_builtin(&mut self.stack[n - 2]);
                self.call_builtin(b, 1, 0)
            }
            Value::Attrs(a) => {
                let Some(functor) = a.get(builtins::sym::functor()).cloned() else {
                    return Err(ErrorKind::NotCallable("a set").into());
                };
                let x = self.pop();
                let me = self.pop();
                let base = self.stack.len();
                self.stack.push(functor);
                self.stack.push(me);
                let env = Env::new(1, None);
                env.slots.borrow_mut()[0] = x;
                self.push_frame(Frame::Code(CodeFrame::new(
                    functor_trampoline(),
                    env,
                    base,
                    CodeKind::Call,
                )))
            }
            other => Err(ErrorKind::NotCallable(other.describe()).into()),
        }
    }

    /// `b`'s quick answer (see `BuiltinDef::quick`) for its arguments at `start..`, put
    /// in their place; `false`, and nothing changed, when it has none for them.
    #[inline(always)]
    fn quick_answer(&mut self, b: &BuiltinApp, (start, args): (usize, usize)) -> bool {
        let Some(r) = b.def.quick.and_then(|q| q(&self.stack[args..])) else {
            return false;
        };
        self.stack.truncate(start);
        self.stack.push(r);
        true
    }

    /// Apply the builtin `b` (taken out of the stack slot below them, see
    /// `take_builtin`) to the `k` arguments on top of the stack, which do not
    /// over-saturate it; then step the instruction pointer `skip` further (past the
    /// `Call, Swap, Call` of a `Call2`). Until the call is made, nothing is changed but
    /// that slot: forcing a strict argument puts `b` back and re-runs the instruction.
    #[inline(never)]
    fn call_builtin(&mut self, b: Rc<BuiltinApp>, k: usize, skip: usize) -> R<()> {
        let n = self.stack.len();
        let arity = b.def.arity;
        let held = b.args.len();
        if held + k < arity {
            let mut args = BuiltinArgs::new();
            args.extend(b.args.iter().cloned());
            args.extend(self.stack.drain(n - k..));
            self.stack[n - k - 1] = Value::Builtin(Rc::new(BuiltinApp {
                def: b.def.clone(),
                args,
            }));
            code_frame!(self).skip(skip as isize);
            return Ok(());
        }
        match &b.def.imp {
            BuiltinImpl::Plain(f) => {
                // Strict arguments are forced first (each re-runs this call).
                let strict = b.def.strict;
                // Most calls hold none: the inline-or-heap test of the arguments'
                // vector is skipped for them.
                if held != 0 {
                    for (i, a) in b.args.iter().enumerate() {
                        if let (Value::Thunk(t), true) = (a, strict & (1 << i) != 0) {
                            if !t.is_evaluated() {
                                let t = t.clone();
                                return self.builtin_demands(b, k, i, t);
                            }
                        }
                    }
                }
                for j in 0..k {
                    if strict & (1 << (held + j)) != 0 {
                        demand_slot!(self, n - k + j, |t| self.builtin_demands(b, k, held + j, t));
                    }
                }
                let (start, args) = spread_args(&mut self.stack, &b, held, k);
                let r = f(self.state, &mut self.stack[args..]);
                cut(&mut self.stack, start);
                self.stack.push(r?);
                code_frame!(self).skip(skip as isize);
                Ok(())
            }
            BuiltinImpl::Machine(mk) => {
                let at = spread_args(&mut self.stack, &b, held, k);
                if self.quick_answer(&b, at) {
                    code_frame!(self).skip(skip as isize);
                    return Ok(());
                }
                let (start, args) = at;
                let machine = mk(&mut self.stack[args..]);
                cut(&mut self.stack, start);
                code_frame!(self).skip(skip as isize);
                self.start_machine(b.def.name, machine)
            }
            BuiltinImpl::Gen(g) => {
                let at = spread_args(&mut self.stack, &b, held, k);
                code_frame!(self).skip(skip as isize);
                if self.quick_answer(&b, at) {
                    return Ok(());
                }
                // One allocation of the exact size, which the generator owns.
                let (start, args) = at;
                let args: Vec<Value> = self.stack.drain(args..).collect();
                self.stack.truncate(start);
                let g = g.clone();
                let gen = generators::start(move |co| g(co, args));
                self.push_gen(b.def.name, gen)
            }
        }
    }
}

/// Whether the head of the call an argument at `pos` goes to (on the stack below that
/// call's arguments pushed so far) is a plain builtin the call saturates, which forces
/// this argument before anything else (`Op::ArgThunk`): when the strict arguments
/// before it are values already, computing it now is what the call would do first.
fn head_forces(stack: &[Value], pos: ArgPos) -> bool {
    let (j, k) = pos.index_and_count();
    let Some(i) = stack.len().checked_sub(j + 1) else {
        return false;
    };
    generators::with_whnf(&stack[i], |h| match h {
        Value::Builtin(b) => Some(builtin_forces(b, &stack[i + 1..], k)),
        _ => None,
    })
    .unwrap_or(false)
}

/// `head_forces` of the builtin `b`, given the arguments `before` this one in the call,
/// which passes `k`.
fn builtin_forces(b: &BuiltinApp, before: &[Value], k: usize) -> bool {
    let def = &b.def;
    let held = b.args.len();
    let strict = |i: usize| def.strict.checked_shr(i as u32).unwrap_or(0) & 1 != 0;
    let pending =
        |(i, v): (usize, &Value)| strict(i) && matches!(v, Value::Thunk(t) if !t.is_evaluated());
    matches!(def.imp, BuiltinImpl::Plain(_))
        && held + k >= def.arity
        && strict(held + before.len())
        && !b.args.iter().chain(before).enumerate().any(pending)
        // After a first argument that is checked, the demand of `call_builtin` (which
        // checks first) forces the later ones.
        && (def.check_first.is_none() || held + before.len() == 0)
}

/// The builtin in `slot` (the head of a call), taken out of it: `call_builtin` owns
/// it without a count taken and dropped, and puts it back if the call is re-run.
#[inline(always)]
fn take_builtin(slot: &mut Value) -> Rc<BuiltinApp> {
    match std::mem::take(slot) {
        Value::Builtin(b) => b,
        _ => unreachable!("checked by the caller"),
    }
}

/// Lay out the arguments of the full application on top of the stack (`[b, x..]`, the
/// `k` new arguments after `b`) as one run, those held by `b` first (evaluated thunks
/// replaced by their values). Returns where the builtin's slot is (the result goes
/// there) and where the run starts: right after that slot when `b` holds no arguments
/// (the new ones are then left where they are, not moved down over it).
#[inline(always)]
fn spread_args(stack: &mut Vec<Value>, b: &BuiltinApp, held: usize, k: usize) -> (usize, usize) {
    let start = stack.len() - k - 1;
    if held == 0 {
        return (start, start + 1);
    }
    match b.args.split_first() {
        None => (start, start + 1),
        Some((first, rest)) => {
            stack[start] = first.clone().shallow();
            for (i, a) in rest.iter().enumerate() {
                stack.insert(start + 1 + i, a.clone().shallow());
            }
            (start, start)
        }
    }
}

/// `Op::MakeAttrs(k, 0)`: the set of the static keys, built in place.
#[inline(always)]
fn make_static_attrs(stack: &mut Vec<Value>, code: &Code, k: u32) {
    let a = Attrs::from_stack_top(
        &code.attr_keys[k as usize],
        stack,
        code.attr_pos[k as usize].as_ref(),
    );
    stack.push(Value::attrs(a));
}

/// `Op::MakeList(n)`.
#[inline(always)]
fn make_list(stack: &mut Vec<Value>, n: u32) {
    let l = NixList::from_stack_top(stack, n as usize);
    stack.push(Value::List(l));
}

/// `Op::MakeAttrs(k, ndyn)`: the set of the static keys `code.attr_keys[k]`, whose
/// values are on the stack (in key order) below `ndyn` pairs of a forced dynamic name
/// (or `null`, to leave it out) and its value. All are taken off the stack and the set
/// made in one go, positions not yet attached. A name defined twice is an error.
fn dynamic_attrs(stack: &mut Vec<Value>, code: &Code, k: u32, ndyn: usize) -> R<Attrs> {
    let keys = &code.attr_keys[k as usize];
    let start = stack.len() - 2 * ndyn - keys.len();
    let mut entries: Vec<(Symbol, Value)> = Vec::with_capacity(keys.len() + ndyn);
    let mut values = stack.drain(start..);
    entries.extend(keys.iter().copied().zip(values.by_ref()));
    while let (Some(name), Some(v)) = (values.next(), values.next()) {
        if matches!(name, Value::Null) {
            continue;
        }
        let sym = attr_name(&name)?;
        // The static names are sorted; the dynamic ones so far are few.
        let dup = keys.binary_search_by(|s| s.cmp_name(sym)).is_ok()
            || entries[keys.len()..].iter().any(|e| e.0 == sym);
        if dup {
            return Err(
                ErrorKind::other(format!("dynamic attribute '{}' already defined", sym)).into(),
            );
        }
        entries.push((sym, v));
    }
    drop(values);
    if entries.len() > keys.len() {
        entries.sort_by(|a, b| a.0.cmp_name(b.0));
    }
    Ok(Attrs::from_sorted(entries))
}

/// The bit of formal `i` in the mask of missing defaults `CheckFormals` leaves.
#[inline(always)]
fn default_bit(i: u32) -> u64 {
    1 << i.min(LAST_BIT)
}

/// The mask's last bit, shared by every formal from it on.
const LAST_BIT: u32 = u64::BITS - 1;

/// The error for a call passing `k`, which is none of `formals`.
#[cold]
fn unexpected_argument(formals: &Formals, k: Symbol) -> Box<ErrorKind> {
    ErrorKind::UnexpectedArgument {
        function: "anonymous lambda".into(),
        name: k.as_str().to_string(),
        suggestion: suggest(k.as_str(), formals.entries.iter().map(|(s, _)| s.as_str())),
    }
    .into()
}

/// Whether the call's argument set (already checked by `CheckFormals`) holds formal
/// `i`: for formals past the mask's bits.
#[inline(never)]
fn formal_passed(code: &Code, env: &EnvRc, i: u32) -> bool {
    let sym = code
        .lambda
        .as_ref()
        .and_then(|l| l.formals.as_ref())
        .expect("GetFormal without formals")
        .entries[i as usize]
        .0;
    match &env.slots.borrow()[code.fused] {
        Value::Attrs(a) => a.get(sym).is_some(),
        _ => false,
    }
}

/// Drop `v`. A scalar owns nothing: it is let go of without a call into the general
/// drop, which the hot instructions (integer arithmetic, stores into fresh slots,
/// popping a condition) would otherwise make for every value they overwrite.
#[inline(always)]
fn discard(v: Value) {
    if is_scalar(&v) {
        std::mem::forget(v);
    } else {
        drop(v);
    }
}

/// `stack.truncate(len)`, each value let go of as `discard` does: what a builtin
/// leaves of its arguments is mostly what it took out of them (`null`) or scalars,
/// each of which would otherwise cost a call into the general drop.
#[inline(always)]
fn cut(stack: &mut Vec<Value>, len: usize) {
    let end = stack.len();
    if len >= end {
        return;
    }
    // SAFETY: as `Vec::truncate`: the length is shortened first, then each value past
    // it, initialized and no longer reachable through the vector, is dropped once
    // (a scalar owns nothing, so it needs no drop).
    unsafe {
        stack.set_len(len);
        let base = stack.as_mut_ptr();
        for i in len..end {
            let v = base.add(i);
            if !is_scalar(&*v) {
                std::ptr::drop_in_place(v);
            }
        }
    }
}

/// Put `v` in `slot`, dropping what it held as `discard` does; the old value is looked
/// at where it is, so a scalar is not first copied out to be let go of.
#[inline(always)]
fn set(slot: &mut Value, v: Value) {
    if is_scalar(slot) {
        std::mem::forget(std::mem::replace(slot, v));
    } else {
        drop(std::mem::replace(slot, v));
    }
}

/// A value that owns nothing.
#[inline(always)]
fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)
    )
}

/// Put `v` into a slot of an environment `new_env` just made, which holds `null`: what
/// it held needs no drop (an assignment would call into the general drop for it).
#[inline(always)]
fn fill(slot: &mut Value, v: Value) {
    let old = std::mem::replace(slot, v);
    debug_assert!(matches!(old, Value::Null));
    std::mem::forget(old);
}

/// Slot `s` of the environment `d` scopes up from `env`.
#[inline(always)]
fn read_local(env: &EnvRc, d: u32, s: u32) -> Value {
    let mut slots = env.ancestor(d).slots.borrow_mut();
    let slot = &mut slots[s as usize];
    // A slot whose thunk has been evaluated keeps the value itself from now on: later
    // reads skip the thunk, and it may be freed sooner.
    if let Value::Thunk(t) = slot {
        if let Some(v) = t.value() {
            *slot = v;
        }
    }
    slot.clone()
}

/// The steps a call answered by `quick2_answer` counts for: `Local`, `Local`, the
/// operator, `Return`, and the builtin's own step.
pub(crate) const QUICK2_STEPS: u64 = 5;

/// The answer of `f x y` had without running it, if it can be: `f` a curried closure
/// whose body is one integer operator on the two (`Code::quick2`: the comparators and
/// operators `sort` and `foldl'` call most), integers for them, no overflow.
#[inline(always)]
pub(crate) fn quick2_answer(f: &Value, x: &Value, y: &Value) -> Option<Value> {
    let Value::Closure(c) = f else {
        return None;
    };
    let (op, i, j) = c.proto.quick2?;
    let arg = |second: bool| known_int(if second { y } else { x });
    int_binop(op, arg(i)?, arg(j)?)
}

/// Whether `quick2_answer` may answer calls of `f`: a machine about to call `f` many
/// times looks once, and tries it for each call only then.
pub(crate) fn answers_quick2(f: &Value) -> bool {
    matches!(f, Value::Closure(c) if c.proto.quick2.is_some())
}

/// The integer `v` is, or has been evaluated to.
#[inline(always)]
pub(crate) fn known_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(x) => Some(*x),
        Value::Thunk(t) => match &*t.borrow() {
            ThunkState::Evaluated(Value::Int(x)) => Some(*x),
            _ => None,
        },
        _ => None,
    }
}

/// `Op::SpecCall`: `[f, x1 .. xn]` -> `f x1 .. xn` when `f` is a builtin of `n`
/// arguments whose quick form answers for the evaluated `x`s; otherwise `None` and the
/// general code runs.
/// Pops `f` and its arguments either way.
#[inline(never)]
fn spec_call(stack: &mut Vec<Value>, n: usize) -> Option<Value> {
    let start = stack.len() - n - 1;
    let call = &mut stack[start..];
    for v in call.iter_mut() {
        if let Value::Thunk(_) = v {
            *v = std::mem::take(v).shallow();
        }
    }
    let r = match call.split_first() {
        Some((_, args)) if args.iter().any(|x| matches!(x, Value::Thunk(_))) => None,
        Some((Value::Builtin(b), args)) if b.args.is_empty() && b.def.arity == n => {
            b.def.quick.and_then(|q| q(args))
        }
        _ => None,
    };
    stack.truncate(start);
    r
}

/// `Op::SpecSelectDyn`: `[x, k]` -> `x.${k}` when both are evaluated and the set holds
/// it. Pops both either way.
#[inline(never)]
fn spec_select_dyn(stack: &mut Vec<Value>) -> Option<Value> {
    let k = stack.pop()?.shallow();
    let x = stack.pop()?.shallow();
    attr_name(&k).ok().and_then(|sym| known_attr(&x, sym))
}

/// The Boolean `v` is or has been evaluated to.
#[inline(always)]
fn known_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Thunk(t) => match &*t.borrow() {
            ThunkState::Evaluated(Value::Bool(b)) => Some(*b),
            _ => None,
        },
        _ => None,
    }
}

/// `a == b` when it needs nothing forced: both operands are (or have been evaluated
/// to) values that `shallow_eq` decides.
#[inline(always)]
fn known_eq(a: &Value, b: &Value) -> Option<bool> {
    match (known_int(a), known_int(b)) {
        (Some(x), Some(y)) => Some(x == y),
        _ => known_eq_slow(a, b),
    }
}

#[inline(never)]
fn known_eq_slow(a: &Value, b: &Value) -> Option<bool> {
    // Borrowed, not cloned: both may be the same thunk, and shared borrows may overlap.
    let (sa, sb);
    let a = match a {
        Value::Thunk(t) => {
            sa = t.borrow();
            match &*sa {
                ThunkState::Evaluated(v) => v,
                _ => return None,
            }
        }
        v => v,
    };
    let b = match b {
        Value::Thunk(t) => {
            sb = t.borrow();
            match &*sb {
                ThunkState::Evaluated(v) => v,
                _ => return None,
            }
        }
        v => v,
    };
    builtins::compare::shallow_eq(a, b)
}

/// What `HasStep`/`HasLast` (and their dynamic forms) leave where the set was, given
/// what the set holds under the name, and where to jump if the path ends here. Only a
/// step copies the value out: the last test needs to know only that it is there.
#[inline(always)]
fn has_result(found: Option<&Value>, op: Op) -> (Value, Option<u32>) {
    match (op, found) {
        (Op::HasStep(_, target) | Op::HasStepDyn(target), None) => {
            (Value::Bool(false), Some(target))
        }
        (Op::HasStep(..) | Op::HasStepDyn(_), Some(v)) => (v.clone(), None),
        (_, found) => (Value::Bool(found.is_some()), None),
    }
}

/// `x op y` on integers, unless it overflows (the general path reports that).
#[inline(always)]
pub(crate) fn int_binop(op: Op, x: i64, y: i64) -> Option<Value> {
    Some(match op {
        Op::Add => Value::Int(x.checked_add(y)?),
        Op::Sub => Value::Int(x.checked_sub(y)?),
        Op::Mul => Value::Int(x.checked_mul(y)?),
        Op::Lt => Value::Bool(x < y),
        Op::Ge => Value::Bool(x >= y),
        Op::Eq => Value::Bool(x == y),
        Op::Neq => Value::Bool(x != y),
        _ => return None,
    })
}

/// A number that is already computed (directly or in an evaluated thunk).
#[inline]
fn known_number(v: &Value) -> Option<Value> {
    match v {
        Value::Int(_) | Value::Float(_) => Some(v.clone()),
        Value::Thunk(t) => match &*t.borrow() {
            ThunkState::Evaluated(v @ (Value::Int(_) | Value::Float(_))) => Some(v.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// `a op b` if it is certain to succeed on numbers already computed: then computing it
/// now gives exactly what forcing a thunk of it later would. `None` otherwise.
fn speculate(op: SpecOp, a: &Value, b: &Value) -> Option<Value> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let (x, y) = (*x, *y);
        return match op {
            SpecOp::Add => x.checked_add(y).map(Value::Int),
            SpecOp::Sub => x.checked_sub(y).map(Value::Int),
            SpecOp::Mul => x.checked_mul(y).map(Value::Int),
            SpecOp::Div => x.checked_div(y).map(Value::Int),
            SpecOp::Lt => Some(Value::Bool(x < y)),
            SpecOp::Le => Some(Value::Bool(x <= y)),
            SpecOp::Gt => Some(Value::Bool(x > y)),
            SpecOp::Ge => Some(Value::Bool(x >= y)),
        };
    }
    speculate_slow(op, a, b)
}

#[cold]
fn speculate_slow(op: SpecOp, a: &Value, b: &Value) -> Option<Value> {
    let (a, b) = (known_number(a)?, known_number(b)?);
    if let (Value::Int(_), Value::Int(_)) = (&a, &b) {
        return speculate(op, &a, &b);
    }
    let lt = builtins::compare::shallow_lt;
    match op {
        SpecOp::Add => builtins::arith::add_numbers(a, b).ok(),
        SpecOp::Sub => builtins::arith::sub(a, b).ok(),
        SpecOp::Mul => builtins::arith::mul(a, b).ok(),
        SpecOp::Div => builtins::arith::div(a, b).ok(),
        SpecOp::Lt => lt(&a, &b).ok().flatten().map(Value::Bool),
        SpecOp::Gt => lt(&b, &a).ok().flatten().map(Value::Bool),
        SpecOp::Le => lt(&b, &a).ok().flatten().map(|r| Value::Bool(!r)),
        SpecOp::Ge => lt(&a, &b).ok().flatten().map(|r| Value::Bool(!r)),
    }
}

#[cold]
#[inline(never)]
fn missing_attr(name: &str, a: &Attrs) -> Box<ErrorKind> {
    let keys: Vec<&str> = a.keys().map(|k| k.as_str()).collect();
    Box::new(ErrorKind::AttributeMissing {
        name: name.to_string(),
        suggestion: suggest(name, keys.into_iter()),
    })
}

/// Built out of line: the depth is checked on every call and force.
#[cold]
#[inline(never)]
fn depth_limit(max: usize) -> Box<ErrorKind> {
    Box::new(ErrorKind::DepthLimit(max))
}

/// `f` of the set `x` is, or has been evaluated to; `None` if `x` is no set (yet).
#[inline(always)]
fn with_known_set<T>(x: &Value, f: impl FnOnce(&Attrs) -> T) -> Option<T> {
    // `f` is called in one place, so that it is inlined rather than made a function
    // (a call per lookup) for its two uses.
    let state;
    let a = match x {
        Value::Attrs(a) => a,
        Value::Thunk(t) => {
            state = t.borrow();
            match &*state {
                ThunkState::Evaluated(Value::Attrs(a)) => a,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(f(a))
}

/// `x.sym` if `x` is (or has been evaluated to) a set holding `sym`: what
/// `Op::SpecSelect` may take early, and what `Op::Select` needs nothing else for.
#[inline(always)]
fn known_attr(x: &Value, sym: Symbol) -> Option<Value> {
    with_known_set(x, |a| a.get(sym).cloned()).flatten()
}

/// An attribute name from a dynamic key.
pub fn attr_name(v: &Value) -> R<Symbol> {
    match v {
        Value::String(s) => Ok(s.to_symbol()),
        other => Err(generators::type_error("a string", other)),
    }
}
