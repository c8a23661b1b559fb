//! The compiled form of one file: bytecode, a span per instruction, constants as plain
//! data and debug information. It holds no runtime values, never changes once built and
//! is `Send + Sync`, so a cache (or the incremental database) can hand the same
//! `CompiledFile` to every evaluation.

use std::path::PathBuf;
use std::sync::Arc;

use crate::attr_pos::AttrPos;
use crate::symbol::Symbol;

/// A source file as the compiler saw it.
#[derive(Debug)]
pub struct SourceFile {
    /// Shown in messages: a path, or `«string»` for `--expr`.
    pub name: String,
    pub text: String,
    /// Directory that relative path literals resolve against.
    pub dir: PathBuf,
}

impl SourceFile {
    /// A file from its bytes, which need not be UTF-8 (see `source_bytes`).
    pub fn from_bytes(name: String, bytes: &[u8], dir: PathBuf) -> SourceFile {
        SourceFile {
            name,
            text: crate::source_bytes::decode(bytes).into_owned(),
            dir,
        }
    }
}

/// Byte range in a `SourceFile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    Int(i64),
    Float(f64),
    String(Box<[u8]>),
    Path(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Push `consts[i]`.
    Const(u32),
    Null,
    True,
    False,
    /// Push slot `slot` of the environment `depth` scopes up.
    Local(u32, u32),
    /// Push the global (builtin) in slot `i`.
    Global(u32),
    /// Look a name up in the enclosing `with` sets (`with_chains[chain]`), innermost first.
    WithLookup(Symbol, u32),
    /// Push a suspended thunk running `protos[i]` in the current environment.
    Thunk(u32),
    /// Push a closure of the lambda `protos[i]` over the current environment.
    Closure(u32),
    /// Enter a new environment described by `scopes[i]`.
    PushScope(u32),
    PopScope,
    /// Register the current environment as a recursive scope (`recursive_scopes`), its
    /// slots from `i` on: a `let` that took slots of its lambda's call environment
    /// stored values there that may refer back to it.
    MarkRecursive(u32),
    /// Pop into slot `i` of the current environment.
    Store(u32),
    Pop,
    /// `[a, b]` -> `[b, a]` (used by the VM's internal trampolines).
    Swap,
    /// Force the top of the stack to weak head normal form.
    Force,
    /// `[f, x]` -> `f x`.
    Call,
    /// `[f, x, y]` -> `f x y`, always followed by `Call, Swap, Call`. When `f` is a
    /// curried lambda (`a: b: ...`) both arguments are bound at once and those three are
    /// skipped; otherwise the stack becomes `[y, f, x]` and they do the two calls.
    Call2,
    Return,
    /// `[set]` -> `set.name` (error if missing).
    Select(Symbol),
    /// `[set]` -> `set.name`, or pop and jump to the default if missing.
    SelectOr(Symbol, u32),
    /// `[set, name]` -> `set.${name}`.
    SelectDyn,
    SelectDynOr(u32),
    /// Step of `e ? a.b`: `[set]` -> `[set.a]`, or `false` and jump when absent.
    HasStep(Symbol, u32),
    HasLast(Symbol),
    HasStepDyn(u32),
    HasLastDyn,
    /// Build an attrset: `attr_keys[i]` static keys (values on the stack in that order),
    /// then `n` dynamic `(name, value)` pairs.
    MakeAttrs(u32, u32),
    MakeList(u32),
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Neq,
    Lt,
    Ge,
    Concat,
    Update,
    Not,
    Neg,
    Jump(u32),
    /// Pop a Boolean (type checked) and jump if it is false / true.
    JumpIfFalse(u32),
    JumpIfTrue(u32),
    /// Check the top of the stack is a Boolean (right operand of `&&`, `||`, `->`).
    AssertBool,
    /// Pop the condition of `assert`; raise a catchable error when false.
    Assert,
    /// Concatenate `n` values into a string (string interpolation).
    Interpolate(u32),
    /// Turn the string on the stack into a path (interpolated path literal).
    ToPath,
    /// Pop a set (`__overrides` of a rec set) and overwrite the current scope's slots
    /// with its attributes of the same names.
    Overrides,
    /// `[a, b]` -> `a op b` when both are numbers already computed and the result
    /// cannot fail; otherwise pop both and jump (to code that builds a thunk instead).
    /// Lets `f (n - 1)` skip a thunk without changing what laziness can observe.
    Speculate(SpecOp, u32),
    /// Check the argument (slot `fused`) against the lambda's formals, fill the slot
    /// `fused + i + 1` of each formal `i` passed, and push the mask of the formals with
    /// a default that were not (an integer, popped after the last `GetFormal`).
    CheckFormals,
    /// Jump past the default code of formal `i` unless the mask on top of the stack
    /// says it was not passed.
    GetFormal(u32, u32),
    /// `[x]` -> `x.name` when `x` already is a set (or an evaluated thunk of one)
    /// holding `name`; otherwise pop and jump (to code that builds a thunk instead).
    /// Lets a lazy `x.name` skip its thunk: selecting an attribute that is there from
    /// a computed set forces nothing and cannot fail.
    SpecSelect(Symbol, u32),
    /// `[x, name]` -> `x.${name}` as `SpecSelect`, `name` a string (or an evaluated
    /// thunk of one); otherwise pop both and jump.
    SpecSelectDyn(u32),
    /// `[f, x1 .. xn]` -> `f x1 .. xn` when `f` is a builtin of `n` arguments with a
    /// quick answer (pure and cheap, see `BuiltinDef::quick`) and the arguments are
    /// already values it answers for; otherwise pop them all and jump (to code that
    /// builds a thunk instead).
    SpecCall(u32, u32),
    /// `Thunk(i)` for an argument of an application whose head is not known when
    /// compiling but is named as a builtin that forces it (`isAttrs (f x)` after
    /// `inherit (lib) isAttrs`). If the head, already on the stack, is such a plain
    /// builtin and the call saturates it, the argument's code runs now instead, as a
    /// frame in the current environment leaving its value: no thunk to build and
    /// force, and no second try of the call once it is forced (see `vm::head_forces`).
    ArgThunk(u32, ArgPos),
}

impl Op {
    /// Where the instruction may jump to, if it jumps.
    pub fn jump_target(self) -> Option<u32> {
        match self {
            Op::Jump(t)
            | Op::JumpIfFalse(t)
            | Op::JumpIfTrue(t)
            | Op::SelectOr(_, t)
            | Op::SelectDynOr(t)
            | Op::HasStep(_, t)
            | Op::HasStepDyn(t)
            | Op::Speculate(_, t)
            | Op::GetFormal(_, t)
            | Op::SpecSelect(_, t)
            | Op::SpecSelectDyn(t)
            | Op::SpecCall(_, t) => Some(t),
            _ => None,
        }
    }
}

/// Whether running `ops` from the start can never leave them: they end in `Return`
/// (the one instruction that does not go on), every jump lands inside, and every
/// `Call2` is followed by the `Call, Swap, Call` it may skip. The VM fetches
/// instructions unchecked on the strength of this (`Code::new` asserts it).
pub fn ops_are_closed(ops: &[Op]) -> bool {
    let n = ops.len();
    ops.last() == Some(&Op::Return)
        && ops.iter().enumerate().all(|(i, op)| match *op {
            Op::Call2 => ops.get(i + 1..i + 4) == Some(&[Op::Call, Op::Swap, Op::Call][..]),
            op => !matches!(op.jump_target(), Some(t) if t as usize >= n),
        })
}

/// Where an argument is in the call that takes it (`Op::ArgThunk`): its head is below
/// the arguments of that call pushed before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgPos {
    /// The argument of a `Call`.
    Only,
    /// The first argument of a `Call2`.
    First,
    /// The second argument of a `Call2`.
    Second,
}

impl ArgPos {
    /// How many arguments of the call are on the stack above its head before this
    /// one, and how many the call passes.
    pub fn index_and_count(self) -> (usize, usize) {
        match self {
            ArgPos::Only => (0, 1),
            ArgPos::First => (0, 2),
            ArgPos::Second => (1, 2),
        }
    }
}

/// The operators `Op::Speculate` computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoKind {
    /// A whole file.
    File,
    /// A lazily evaluated expression.
    Thunk,
    Lambda,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    Let,
    RecAttrs,
    Lambda,
    With,
    /// Compiler-made slots with no user-visible names (e.g. `inherit (e)` sources).
    Hidden,
}

/// Debug information for one runtime environment: the name of every slot.
#[derive(Debug)]
pub struct ScopeInfo {
    pub kind: ScopeKind,
    /// `None` for compiler-made slots.
    pub names: Vec<Option<Symbol>>,
}

/// Where a scope a proto pushes (`Op::PushScope`) is, for debuggers: an environment
/// does not carry the names of its slots, the code that made it does (see
/// `value::ScopeChain`).
#[derive(Debug, Clone, Copy)]
pub struct ScopeSite {
    /// The instructions over which the frame's environment is this scope's: from
    /// past its `PushScope` (at `open`) to its `PopScope` (at `close`) included.
    pub open: u32,
    pub close: u32,
    /// The scope of the same proto it is pushed in; `None`: the proto's own environment.
    pub outer: Option<u32>,
}

impl ScopeSite {
    /// Whether a frame whose next instruction is `ip` has this scope's environment
    /// (or one inside it).
    pub fn is_open_at(&self, ip: usize) -> bool {
        (self.open as usize) < ip && ip <= self.close as usize
    }
}

#[derive(Debug, Clone)]
pub struct Formals {
    pub entries: Vec<(Symbol, Option<Span>)>,
    pub has_default: Vec<bool>,
    pub ellipsis: bool,
    pub bind: Option<Symbol>,
}

#[derive(Debug)]
pub struct LambdaInfo {
    /// `x` in `x: ...`.
    pub arg: Option<Symbol>,
    pub formals: Option<Formals>,
}

/// One unit of code: a file, a thunk body or a lambda body.
#[derive(Debug)]
pub struct Proto {
    pub kind: ProtoKind,
    pub ops: Vec<Op>,
    pub spans: Vec<Span>,
    pub consts: Vec<Constant>,
    pub protos: Vec<Arc<Proto>>,
    pub scopes: Vec<Arc<ScopeInfo>>,
    /// Where each of `scopes` is.
    pub scope_sites: Vec<ScopeSite>,
    /// The scope of the enclosing proto this one is made in (an index of its `scopes`;
    /// `None`: that proto's own environment): its closures and thunks hold that scope's
    /// environment.
    pub made_in: Option<u32>,
    /// For each dynamic lookup: where the enclosing `with` sets live, innermost first,
    /// as (depth, slot) relative to the environment at that point.
    pub with_chains: Vec<Vec<(u32, u32)>>,
    pub attr_keys: Vec<Vec<Symbol>>,
    /// Where the attributes of `attr_keys[i]` were defined (`unsafeGetAttrPos`).
    pub attr_pos: Vec<Option<Arc<AttrPos>>>,
    pub file: Arc<SourceFile>,
    /// The whole expression this proto was compiled from.
    pub span: Span,
    pub lambda: Option<LambdaInfo>,
    /// Set for lambdas: the environment made for a call (slot `fused` is the argument).
    pub call_scope: Option<Arc<ScopeInfo>>,
    /// For the body lambda of `a: b: ...` (the inner one): how many slots its call
    /// environment copies from its closure's environment, the outer call's (`[a]`) before
    /// its own argument. That environment then takes the outer one's place in the
    /// chain, so the body reaches both arguments at depth 0. 0 for other protos.
    pub fused: u32,
    /// The `builtins.addErrorContext msg e` compiled in place in this proto (see
    /// `ErrorContext`).
    pub contexts: Vec<ErrorContext>,
}

/// `builtins.addErrorContext msg e` compiled in place: an error raised while the ops
/// `start..end` (which compute and force `e`) run adds the message to its trace. The
/// message is child proto `msg`, a thunk's code for the scope at `start`; it is only
/// run when an error passes, so a context costs nothing until then.
#[derive(Debug, Clone, Copy)]
pub struct ErrorContext {
    pub start: u32,
    pub end: u32,
    pub msg: u32,
}

/// A compiled file: the unit the compile cache and the incremental layer keep.
#[derive(Debug)]
pub struct CompiledFile {
    pub file: Arc<SourceFile>,
    pub root: Arc<Proto>,
    /// Names of the globals the code was resolved against, in slot order.
    pub globals: Arc<[Symbol]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn closed_ops_end_in_return_and_jump_inside() {
        assert!(ops_are_closed(&[Op::Null, Op::Return]));
        assert!(ops_are_closed(&[Op::JumpIfFalse(2), Op::Null, Op::Return]));
        assert!(!ops_are_closed(&[]));
        assert!(!ops_are_closed(&[Op::Null]));
        assert!(!ops_are_closed(&[Op::Return, Op::Null]));
        assert!(!ops_are_closed(&[Op::Jump(2), Op::Return]));
        let call2 = [Op::Call2, Op::Call, Op::Swap, Op::Call, Op::Return];
        assert!(ops_are_closed(&call2));
        assert!(!ops_are_closed(&[Op::Call2, Op::Call, Op::Return]));
    }

    #[test]
    fn compiled_form_is_send_and_sync() {
        assert_send_sync::<CompiledFile>();
        assert_send_sync::<Arc<Proto>>();
    }
}
