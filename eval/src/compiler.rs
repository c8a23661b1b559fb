//! rnix syntax tree -> bytecode, one file at a time.
//!
//! Every name the compiler can see is resolved here: to a slot of an enclosing runtime
//! environment (depth, slot), or to a global (builtin) slot. Only names under a `with`
//! that no static scope binds stay dynamic. The compiler also decides what needs a
//! thunk: literals, lambdas, initialised variables, lists and plain attribute sets are
//! built directly, everything else is deferred.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap;

use rnix::ast::{self, AstToken, HasEntry, InterpolPart};
use rowan::ast::AstNode;

use crate::attr_pos::AttrPos;
use crate::compiled::*;
use crate::errors::{ErrorKind, EvalError, Location};
use crate::symbol::Symbol;

type CResult<T> = Result<T, EvalError>;

struct CScope {
    kind: ScopeKind,
    names: Vec<Option<Symbol>>,
    initialized: Vec<bool>,
    /// Index of the proto (in `Compiler::protos`) that runs this scope's initialisation.
    proto_level: usize,
    /// Slots may change after initialisation (`__overrides`): never copy them early.
    never_init: bool,
    /// For a lambda's scope: whether a `let` in its body may take slots of the call's
    /// environment instead of a scope of its own (see `merge_let`).
    lets: LetSlots,
    /// For a lambda's scope: the names of all its slots for debuggers, including those
    /// of `let`s whose names have gone out of scope in `names`.
    shown: Vec<Option<Symbol>>,
    /// The slot of each name in `names` (the last, where one repeats), kept only for
    /// scopes too big to scan: every variable is resolved through every scope around
    /// it, and a file's top-level `let` or `rec` may bind hundreds of names.
    index: Option<rustc_hash::FxHashMap<Symbol, u32>>,
    /// For a scope an `Op::PushScope` opens: its index in its proto's `scopes`.
    pushed: Option<u32>,
}

/// Scopes with more names than this get an `index`.
const INDEXED_SCOPE: usize = 16;

impl CScope {
    fn index_of(names: &[Option<Symbol>]) -> Option<rustc_hash::FxHashMap<Symbol, u32>> {
        (names.len() > INDEXED_SCOPE).then(|| {
            let named = names.iter().enumerate();
            named
                .filter_map(|(i, n)| Some((n.as_ref().copied()?, i as u32)))
                .collect()
        })
    }

    /// The slot of `name`: the last, as a `let` that joined a lambda's scope shadows
    /// its arguments.
    fn slot_of(&self, name: Symbol) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&name).map(|&slot| slot as usize),
            None => self.names.iter().rposition(|n| *n == Some(name)),
        }
    }

    /// Rebuild `index` after `names` changed.
    fn reindex(&mut self) {
        self.index = Self::index_of(&self.names);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LetSlots {
    /// Not a lambda's scope, or a lambda whose formal defaults may register its
    /// environment already.
    Never,
    /// No `let` has registered the environment yet.
    Free,
    /// Inside the body of the `let` that registered it: nested ones may join.
    Registered,
    /// A `let` that registered it has ended: another, run after it, would register the
    /// same environment twice.
    Done,
}

struct ProtoBuilder {
    kind: ProtoKind,
    ops: Vec<Op>,
    spans: Vec<Span>,
    consts: Vec<Constant>,
    protos: Vec<Arc<Proto>>,
    scopes: Vec<Arc<ScopeInfo>>,
    scope_sites: Vec<ScopeSite>,
    made_in: Option<u32>,
    with_chains: Vec<Vec<(u32, u32)>>,
    attr_keys: Vec<Vec<Symbol>>,
    attr_pos: Vec<Option<Arc<AttrPos>>>,
    span: Span,
    lambda: Option<LambdaInfo>,
    call_scope: Option<Arc<ScopeInfo>>,
    fused: u32,
    contexts: Vec<ErrorContext>,
}

enum Res {
    Local { depth: u32, slot: u32, init: bool },
    Global(u32),
    With(Vec<(u32, u32)>),
    Undefined,
}

/// A binding's value while an attribute set (or let) is being assembled.
enum BVal {
    Expr(ast::Expr),
    /// `inherit name;` (looked up outside a rec/let scope) or `inherit (from) name;`.
    Inherit {
        from: Option<usize>,
        name: Symbol,
    },
    Set(Box<BSet>),
}

#[derive(Default)]
struct BSet {
    /// Set when a `rec { }` literal was merged with other bindings of the same name.
    rec: bool,
    statics: Vec<(Symbol, BVal, Span)>,
    /// The position of each of the first `index.len()` names of `statics`, caught up
    /// on lookup once there are too many to scan (a file's top-level set may bind
    /// hundreds, each checked against those before it).
    index: rustc_hash::FxHashMap<Symbol, usize>,
    dynamics: Vec<(ast::Expr, BVal, Span)>,
    inherit_froms: Vec<ast::Expr>,
}

impl BSet {
    /// Where `name` is in `statics`.
    fn find(&mut self, name: Symbol) -> Option<usize> {
        if self.statics.len() <= INDEXED_SCOPE {
            return self.statics.iter().position(|(k, _, _)| *k == name);
        }
        for i in self.index.len()..self.statics.len() {
            self.index.insert(self.statics[i].0, i);
        }
        self.index.get(&name).copied()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LintLevel {
    #[default]
    Off,
    Warn,
    Fatal,
}

/// Optional complaints about literal forms (C++ Nix's `--lint-*` settings).
#[derive(Clone, Copy, Debug, Default)]
pub struct Lints {
    pub url_literals: LintLevel,
    pub short_path_literals: LintLevel,
    pub absolute_path_literals: LintLevel,
}

/// How files are compiled.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileOptions {
    pub lints: Lints,
    /// Make a thunk exactly where C++ Nix does: for every attribute value, list element,
    /// binding and argument except literal numbers, plain strings and paths, and
    /// variables; nothing is computed early. What `--eval` without `--strict` prints
    /// shows which values are thunks never forced (`<CODE>`), so its output depends on
    /// this. Otherwise lists, sets and functions are made at once, and cheap
    /// arithmetic, selections and builtin calls are tried at once.
    pub cpp_thunks: bool,
}

pub fn compile_file(
    file: Arc<SourceFile>,
    globals: &HashMap<Symbol, u32>,
    global_names: Arc<[Symbol]>,
    opts: CompileOptions,
) -> Result<CompiledFile, EvalError> {
    compile_file_in_scope(file, globals, global_names, opts, None)
}

/// Compile a file whose free names are first looked up in an outer scope with the
/// given names (`scopedImport`): the file then runs in an environment holding their
/// values, slot by slot.
pub fn compile_file_in_scope(
    file: Arc<SourceFile>,
    globals: &HashMap<Symbol, u32>,
    global_names: Arc<[Symbol]>,
    opts: CompileOptions,
    scope: Option<Vec<Symbol>>,
) -> Result<CompiledFile, EvalError> {
    let scopes = scope
        .map(|names| vec![(ScopeKind::Let, names.into_iter().map(Some).collect())])
        .unwrap_or_default();
    compile_in_scopes(file, globals, global_names, opts, scopes)
}

/// Compile source text that will run inside existing runtime environments, described
/// outermost first as (kind, slot names), one per environment of the chain: free
/// names resolve to their slots (and to the `with` sets among them) before globals.
/// This is how a debugger evaluates an expression in a paused frame.
pub fn compile_in_scopes(
    file: Arc<SourceFile>,
    globals: &HashMap<Symbol, u32>,
    global_names: Arc<[Symbol]>,
    opts: CompileOptions,
    scopes: Vec<(ScopeKind, Vec<Option<Symbol>>)>,
) -> Result<CompiledFile, EvalError> {
    let root = crate::parse::parse_file(&file)?;
    let expr = root.expr().ok_or_else(|| {
        EvalError::new(
            ErrorKind::Parse("empty file".into()),
            Some(Location {
                file: file.clone(),
                span: Span::default(),
            }),
        )
    })?;
    let builtins = Symbol::intern("builtins");
    let mut c = Compiler {
        file: file.clone(),
        globals,
        builtins_slot: globals
            .get(&builtins)
            .copied()
            .filter(|&g| global_names.iter().position(|n| *n == builtins) == Some(g as usize)),
        global_names: global_names.clone(),
        scopes: Vec::new(),
        protos: Vec::new(),
        opts,
    };
    let span = c.span_of(expr.syntax());
    c.protos.push(ProtoBuilder::new(ProtoKind::File, span));
    for (kind, names) in scopes {
        let n = names.len();
        c.scopes.push(CScope {
            kind,
            index: CScope::index_of(&names),
            names,
            initialized: vec![true; n],
            proto_level: 0,
            never_init: false,
            lets: LetSlots::Never,
            shown: Vec::new(),
            pushed: None,
        });
    }
    c.compile(&expr)?;
    c.emit(Op::Force, span);
    c.emit(Op::Return, span);
    let root = c.finish_proto();
    Ok(CompiledFile {
        file,
        root: Arc::new(root),
        globals: global_names,
    })
}

impl ProtoBuilder {
    fn new(kind: ProtoKind, span: Span) -> ProtoBuilder {
        ProtoBuilder {
            kind,
            // Most protos (thunks of a select or a call) need a handful of ops: room
            // for them up front spares the growth from four.
            ops: Vec::with_capacity(8),
            spans: Vec::with_capacity(8),
            consts: Vec::new(),
            protos: Vec::new(),
            scopes: Vec::new(),
            scope_sites: Vec::new(),
            made_in: None,
            with_chains: Vec::new(),
            attr_keys: Vec::new(),
            attr_pos: Vec::new(),
            span,
            lambda: None,
            call_scope: None,
            fused: 0,
            contexts: Vec::new(),
        }
    }
}

/// Remove `.` and `..` components without touching the file system, as Nix does.
pub fn canon_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
        }
    }
    out
}

struct Compiler<'g> {
    opts: CompileOptions,
    file: Arc<SourceFile>,
    globals: &'g HashMap<Symbol, u32>,
    /// The global slot of `builtins` while it still holds the builtins: the first slot
    /// of that name (a REPL binding of `builtins` takes a new one).
    builtins_slot: Option<u32>,
    /// The globals' names by slot (see `strict_args`).
    global_names: Arc<[Symbol]>,
    scopes: Vec<CScope>,
    protos: Vec<ProtoBuilder>,
}

/// An identifier's name, interned straight from its token's text (formatting the
/// node's text into a `String` first costs several times the interning).
/// Read from the green tree, which needs no cursor allocated for the token.
fn ident_sym(i: &ast::Ident) -> Symbol {
    let node = i.syntax();
    let mut kids = node.green().children();
    match (kids.next(), kids.next()) {
        (Some(rowan::NodeOrToken::Token(t)), None) => Symbol::intern(t.text()),
        _ => Symbol::intern(&node.text().to_string()),
    }
}

impl<'g> Compiler<'g> {
    fn span_of(&self, n: &rnix::SyntaxNode) -> Span {
        let r = n.text_range();
        Span {
            start: r.start().into(),
            end: r.end().into(),
        }
    }

    fn err(&self, kind: ErrorKind, span: Span) -> EvalError {
        EvalError::new(
            kind,
            Some(Location {
                file: self.file.clone(),
                span,
            }),
        )
    }

    fn lint(&self, level: LintLevel, msg: &str, span: Span) -> CResult<()> {
        match level {
            LintLevel::Off => Ok(()),
            LintLevel::Warn => {
                let loc = Location {
                    file: self.file.clone(),
                    span,
                };
                let (l, c) = loc.line_col();
                eprintln!("warning: {msg} at {}:{l}:{c}", self.file.name);
                Ok(())
            }
            LintLevel::Fatal => Err(self.err(ErrorKind::Parse(msg.to_string()), span)),
        }
    }

    fn proto(&mut self) -> &mut ProtoBuilder {
        self.protos.last_mut().expect("a proto is always open")
    }

    fn emit(&mut self, op: Op, span: Span) -> usize {
        let p = self.proto();
        p.ops.push(op);
        p.spans.push(span);
        p.ops.len() - 1
    }

    fn here(&mut self) -> u32 {
        self.proto().ops.len() as u32
    }

    fn patch(&mut self, at: usize) {
        let target = self.here();
        let op = &mut self.proto().ops[at];
        *op = match *op {
            Op::Jump(_) => Op::Jump(target),
            Op::JumpIfFalse(_) => Op::JumpIfFalse(target),
            Op::JumpIfTrue(_) => Op::JumpIfTrue(target),
            Op::SelectOr(s, _) => Op::SelectOr(s, target),
            Op::SelectDynOr(_) => Op::SelectDynOr(target),
            Op::HasStep(s, _) => Op::HasStep(s, target),
            Op::HasStepDyn(_) => Op::HasStepDyn(target),
            Op::GetFormal(i, _) => Op::GetFormal(i, target),
            Op::Speculate(o, _) => Op::Speculate(o, target),
            Op::SpecSelect(s, _) => Op::SpecSelect(s, target),
            Op::SpecSelectDyn(_) => Op::SpecSelectDyn(target),
            Op::SpecCall(n, _) => Op::SpecCall(n, target),
            other => other,
        };
    }

    fn constant(&mut self, c: Constant, span: Span) {
        let p = self.proto();
        let idx = match p.consts.iter().position(|x| *x == c) {
            Some(i) => i,
            None => {
                p.consts.push(c);
                p.consts.len() - 1
            }
        };
        self.emit(Op::Const(idx as u32), span);
    }

    fn finish_proto(&mut self) -> Proto {
        let p = self.protos.pop().expect("proto stack underflow");
        Proto {
            kind: p.kind,
            ops: p.ops,
            spans: p.spans,
            consts: p.consts,
            protos: p.protos,
            scopes: p.scopes,
            scope_sites: p.scope_sites,
            made_in: p.made_in,
            with_chains: p.with_chains,
            attr_keys: p.attr_keys,
            attr_pos: p.attr_pos,
            file: self.file.clone(),
            span: p.span,
            lambda: p.lambda,
            call_scope: p.call_scope,
            fused: p.fused,
            contexts: p.contexts,
        }
    }

    // ---- scopes ----

    /// Start compiling a nested proto, made in the current proto's innermost scope.
    fn open_proto(&mut self, kind: ProtoKind, span: Span) {
        let made_in = self.innermost_pushed();
        let mut p = ProtoBuilder::new(kind, span);
        p.made_in = made_in;
        self.protos.push(p);
    }

    /// The innermost scope the current proto has pushed and not yet popped (an index
    /// of its `scopes`), if any: what is made now holds that scope's environment.
    fn innermost_pushed(&self) -> Option<u32> {
        let level = self.protos.len() - 1;
        self.scopes
            .iter()
            .rev()
            .take_while(|s| s.proto_level == level)
            .find_map(|s| s.pushed)
    }

    fn push_scope(&mut self, kind: ScopeKind, names: Vec<Option<Symbol>>, span: Span) {
        let info = Arc::new(ScopeInfo {
            kind,
            names: names.clone(),
        });
        let outer = self.innermost_pushed();
        let open = self.here();
        let p = self.proto();
        p.scopes.push(info);
        p.scope_sites.push(ScopeSite {
            open,
            // Set by `pop_scope`.
            close: open,
            outer,
        });
        let idx = p.scopes.len() as u32 - 1;
        self.emit(Op::PushScope(idx), span);
        let n = names.len();
        self.scopes.push(CScope {
            kind,
            index: CScope::index_of(&names),
            names,
            initialized: vec![false; n],
            proto_level: self.protos.len() - 1,
            never_init: false,
            lets: LetSlots::Never,
            shown: Vec::new(),
            pushed: Some(idx),
        });
    }

    fn pop_scope(&mut self, span: Span) {
        let scope = self.scopes.pop().expect("a scope to pop");
        let close = self.emit(Op::PopScope, span) as u32;
        if let Some(i) = scope.pushed {
            self.proto().scope_sites[i as usize].close = close;
        }
    }

    fn store(&mut self, slot: usize, span: Span) {
        self.emit(Op::Store(slot as u32), span);
        if let Some(s) = self.scopes.last_mut() {
            s.initialized[slot] = !s.never_init;
        }
    }

    /// Resolve `name`, ignoring the innermost `skip` scopes.
    fn resolve(&self, name: Symbol, skip: usize) -> Res {
        let level = self.protos.len() - 1;
        let scopes = || self.scopes.iter().rev().enumerate().skip(skip);
        for (depth, scope) in scopes() {
            if scope.kind == ScopeKind::With {
                continue;
            }
            if let Some(slot) = scope.slot_of(name) {
                let init = scope.initialized[slot] || scope.proto_level < level;
                return Res::Local {
                    depth: depth as u32,
                    slot: slot as u32,
                    init,
                };
            }
        }
        if let Some(&g) = self.globals.get(&name) {
            return Res::Global(g);
        }
        // Only now the `with`s around are collected: most names resolve before.
        let chain: Vec<(u32, u32)> = scopes()
            .filter(|(_, s)| s.kind == ScopeKind::With)
            .map(|(depth, _)| (depth as u32, 0))
            .collect();
        if chain.is_empty() {
            Res::Undefined
        } else {
            Res::With(chain)
        }
    }

    fn all_names_in_scope(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .scopes
            .iter()
            .flat_map(|s| s.names.iter().flatten().map(|s| s.as_str()))
            .collect();
        v.extend(self.globals.keys().map(|s| s.as_str()));
        v
    }

    fn emit_var(&mut self, name: Symbol, skip: usize, span: Span) -> CResult<()> {
        match self.resolve(name, skip) {
            Res::Local { depth, slot, .. } => {
                self.emit(Op::Local(depth, slot), span);
            }
            Res::Global(g) => {
                self.emit(Op::Global(g), span);
            }
            Res::With(chain) => {
                let p = self.proto();
                p.with_chains.push(chain);
                let idx = p.with_chains.len() as u32 - 1;
                self.emit(Op::WithLookup(name, idx), span);
            }
            Res::Undefined => {
                let names = self.all_names_in_scope();
                let suggestion = crate::errors::suggest(name.as_str(), names.into_iter());
                return Err(self.err(
                    ErrorKind::UndefinedVariable {
                        name: name.as_str().to_string(),
                        suggestion,
                    },
                    span,
                ));
            }
        }
        Ok(())
    }

    // ---- laziness ----

    /// Can `e` be computed right now, cheaply and without forcing anything?
    fn is_cheap(&self, e: &ast::Expr) -> bool {
        match e {
            ast::Expr::Literal(_) => true,
            ast::Expr::Lambda(_) | ast::Expr::List(_) => !self.opts.cpp_thunks,
            ast::Expr::Str(s) => is_literal_str(s),
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) => {
                let p = match e {
                    ast::Expr::PathAbs(p) => p.parts(),
                    ast::Expr::PathRel(p) => p.parts(),
                    ast::Expr::PathHome(p) => p.parts(),
                    _ => unreachable!(),
                };
                p.iter().all(|p| matches!(p, InterpolPart::Literal(_)))
            }
            ast::Expr::Paren(p) => p.expr().is_some_and(|e| self.is_cheap(&e)),
            ast::Expr::Ident(i) => {
                let name = ident_sym(i);
                matches!(
                    self.resolve(name, 0),
                    Res::Global(_) | Res::Local { init: true, .. }
                )
            }
            ast::Expr::AttrSet(a) => {
                !self.opts.cpp_thunks
                    && !is_rec(a)
                    && a.entries().all(|e| match e {
                        ast::Entry::AttrpathValue(kv) => kv
                            .attrpath()
                            .is_some_and(|p| p.attrs().all(|a| is_static_attr(&a))),
                        ast::Entry::Inherit(_) => true,
                    })
            }
            _ => false,
        }
    }

    /// An operand `Op::Speculate` may read: a number literal or an initialised local
    /// (loading either cannot fail or force anything).
    fn is_spec_leaf(&self, e: &ast::Expr) -> bool {
        match e {
            ast::Expr::Literal(l) => matches!(
                l.kind(),
                ast::LiteralKind::Integer(_) | ast::LiteralKind::Float(_)
            ),
            ast::Expr::Paren(p) => p.expr().is_some_and(|e| self.is_spec_leaf(&e)),
            ast::Expr::Ident(i) => {
                let name = ident_sym(i);
                matches!(self.resolve(name, 0), Res::Local { init: true, .. })
            }
            _ => false,
        }
    }

    /// Arithmetic `Op::Speculate` can try: a left-deep chain of numeric operators over
    /// leaves (`n - 1`, `x * a + b`), so a failing step only has its own two operands on
    /// the stack.
    fn spec_op(&self, e: &ast::Expr) -> Option<SpecOp> {
        use ast::BinOpKind as K;
        let ast::Expr::BinOp(b) = e else {
            return None;
        };
        let op = match b.operator()? {
            K::Add => SpecOp::Add,
            K::Sub => SpecOp::Sub,
            K::Mul => SpecOp::Mul,
            K::Div => SpecOp::Div,
            K::Less => SpecOp::Lt,
            K::LessOrEq => SpecOp::Le,
            K::More => SpecOp::Gt,
            K::MoreOrEq => SpecOp::Ge,
            _ => return None,
        };
        let [Some(l), Some(r)] = exprs(b.syntax()) else {
            return None;
        };
        let l_ok = self.is_spec_leaf(&l) || self.spec_op(&strip_parens(l)).is_some();
        (l_ok && self.is_spec_leaf(&r)).then_some(op)
    }

    /// `x.a.${k}` that `Op::SpecSelect` can try: an initialised local or a global, then
    /// static names or names held by such variables, no `or` default. The variable
    /// and the path.
    fn spec_select(&self, e: &ast::Expr) -> Option<(ast::Expr, Vec<SpecKey>)> {
        let ast::Expr::Select(s) = e else {
            return None;
        };
        let (Some(base), Some(path), None) = select_parts(s) else {
            return None;
        };
        if !self.is_known_var(&base) {
            return None;
        }
        let path = path
            .attrs()
            .map(|a| match static_attr_sym(&a) {
                Some(n) => Some(SpecKey::Name(n)),
                None => match &a {
                    ast::Attr::Dynamic(d) => {
                        let k = strip_parens(d.expr()?);
                        self.is_known_var(&k).then_some(SpecKey::Var(k))
                    }
                    _ => None,
                },
            })
            .collect::<Option<Vec<_>>>()?;
        Some((base, path))
    }

    /// Code for a `spec_select` path; every step jumps to `fails` on failure, with
    /// nothing of its own left on the stack.
    fn compile_spec_select(
        &mut self,
        base: ast::Expr,
        path: Vec<SpecKey>,
        fails: &mut Vec<usize>,
    ) -> CResult<()> {
        let span = self.span_of(base.syntax());
        self.compile(&base)?;
        for key in path {
            let op = match key {
                SpecKey::Name(sym) => Op::SpecSelect(sym, 0),
                SpecKey::Var(k) => {
                    self.compile(&k)?;
                    Op::SpecSelectDyn(0)
                }
            };
            fails.push(self.emit(op, span));
        }
        Ok(())
    }

    /// `f x` (or `f x y`, `f x y z`) that `Op::SpecCall` can try: `f` a variable or a
    /// `spec_select` path, the arguments variables.
    fn spec_call(&self, e: &ast::Expr) -> Option<(ast::Expr, Vec<ast::Expr>)> {
        // No quick builtin takes no argument: anything but an application is not one.
        if !matches!(e, ast::Expr::Apply(_)) {
            return None;
        }
        let mut args = Vec::new();
        let mut f = e.clone();
        while let ast::Expr::Apply(a) = &f {
            let [Some(g), Some(x)] = exprs(a.syntax()) else {
                return None;
            };
            args.push(strip_parens(x));
            f = strip_parens(g);
        }
        args.reverse();
        // Only where the function is named like a builtin of as many arguments that has
        // a quick answer (`attrNames`, `lib.length`, `builtins.elemAt`): elsewhere the
        // attempt would nearly always fail, and failing costs more than it saves.
        let name = match &f {
            ast::Expr::Ident(i) => ident_sym(i),
            ast::Expr::Select(s) => static_attr_sym(&s.attrpath()?.attrs().last()?)?,
            _ => return None,
        };
        if !QUICK_BUILTINS.contains(&(name.as_str(), args.len())) {
            return None;
        }
        let f_ok = self.is_known_var(&f) || self.spec_select(&f).is_some();
        (f_ok && args.iter().all(|x| self.is_known_var(x))).then_some((f, args))
    }

    /// A variable whose value loading cannot fail or force anything.
    fn is_known_var(&self, e: &ast::Expr) -> bool {
        let ast::Expr::Ident(i) = e else {
            return false;
        };
        let name = ident_sym(i);
        matches!(
            self.resolve(name, 0),
            Res::Global(_) | Res::Local { init: true, .. }
        )
    }

    /// Code for a `spec_op` expression; every `Speculate` jumps to `fails` on failure.
    fn compile_spec(&mut self, e: &ast::Expr, fails: &mut Vec<usize>) -> CResult<()> {
        let e = strip_parens(e.clone());
        match (self.spec_op(&e), &e) {
            (Some(op), ast::Expr::BinOp(b)) => {
                let [Some(l), Some(r)] = exprs(b.syntax()) else {
                    unreachable!("spec_op checked both operands")
                };
                self.compile_spec(&l, fails)?;
                self.compile(&r)?;
                let span = self.span_of(e.syntax());
                fails.push(self.emit(Op::Speculate(op, 0), span));
                Ok(())
            }
            _ => self.compile(&e),
        }
    }

    /// Push `e`'s value, deferring it in a thunk unless it is cheap.
    fn compile_lazy(&mut self, e: &ast::Expr) -> CResult<()> {
        self.compile_deferred(e, Defer::Lazy)
    }

    /// `compile_lazy`, but where a thunk would be made, `now` has the value computed
    /// at once instead (an argument the builtin called forces first).
    fn compile_deferred(&mut self, e: &ast::Expr, now: Defer) -> CResult<()> {
        if self.is_cheap(e) {
            return self.compile(e);
        }
        let span = self.span_of(e.syntax());
        if self.opts.cpp_thunks {
            return self.compile_thunk_or_now(e, span, now);
        }
        let plain = strip_parens(e.clone());
        // Code that computes the value now if that is cheap and cannot fail or force
        // anything (each attempt jumps to `fails` when it cannot), then the thunk.
        let mut fails = Vec::new();
        if let Some((f, args)) = self.spec_call(&plain) {
            // A quick builtin applied to values it answers for.
            match self.spec_select(&f) {
                Some((base, path)) => self.compile_spec_select(base, path, &mut fails)?,
                None => self.compile(&f)?,
            }
            for x in &args {
                self.compile(x)?;
            }
            fails.push(self.emit(Op::SpecCall(args.len() as u32, 0), span));
        } else if let Some((base, path)) = self.spec_select(&plain) {
            // An attribute of a set that is already there and has it.
            self.compile_spec_select(base, path, &mut fails)?;
        } else if self.spec_op(&plain).is_some() {
            // Arithmetic or a comparison on operands that already are numbers.
            self.compile_spec(e, &mut fails)?;
        } else {
            return self.compile_thunk_or_now(e, span, now);
        }
        let done = self.emit(Op::Jump(0), span);
        for f in fails {
            self.patch(f);
        }
        self.compile_thunk_or_now(e, span, now)?;
        self.patch(done);
        Ok(())
    }

    fn compile_thunk_or_now(&mut self, e: &ast::Expr, span: Span, now: Defer) -> CResult<()> {
        match now {
            Defer::Lazy => self.compile_thunk(e, span),
            Defer::Now => {
                self.compile(e)?;
                self.emit(Op::Force, span);
                Ok(())
            }
            Defer::Arg(pos) => {
                // Forced in its code: it may run as a call's frame, which leaves its
                // value as it is (see `Op::ArgThunk`).
                self.thunk_code(span, |c| {
                    c.compile(e)?;
                    c.emit(Op::Force, span);
                    Ok(())
                })?;
                let idx = self.add_child();
                self.emit(Op::ArgThunk(idx, pos), span);
                Ok(())
            }
        }
    }

    /// `inherit (x) name;`: a thunk of `x.name`. (Trying `x.name` at once, as
    /// `compile_lazy` does for a written `x.name`, costs more than it saves here: `x` is
    /// mostly not yet a set.)
    fn compile_inherit_from(&mut self, x: ast::Expr, name: Symbol, span: Span) -> CResult<()> {
        self.thunk_of(span, |c| {
            c.compile(&x)?;
            c.emit(Op::Select(name), span);
            Ok(())
        })
    }

    fn compile_thunk(&mut self, e: &ast::Expr, span: Span) -> CResult<()> {
        self.thunk_of(span, |c| c.compile(e))
    }

    /// A child thunk whose code is what `body` emits, returned (and so forced).
    fn thunk_of(&mut self, span: Span, body: impl FnOnce(&mut Self) -> CResult<()>) -> CResult<()> {
        self.thunk_code(span, body)?;
        self.emit_child_thunk(span);
        Ok(())
    }

    /// Open a thunk's proto and compile its code (`body`, then `Return`); the proto is
    /// left open, for `add_child`. No `Force` before the `Return`: a thunk's frame
    /// forces an unevaluated value it returns (see `Vm::op_return`), so the common
    /// value already computed costs no instruction of its own.
    fn thunk_code(
        &mut self,
        span: Span,
        body: impl FnOnce(&mut Self) -> CResult<()>,
    ) -> CResult<()> {
        self.open_proto(ProtoKind::Thunk, span);
        body(self)?;
        self.emit(Op::Return, span);
        Ok(())
    }

    fn emit_child_thunk(&mut self, span: Span) {
        let idx = self.add_child();
        self.emit(Op::Thunk(idx), span);
    }

    /// Close the innermost proto and add it to its parent's children; its index there.
    fn add_child(&mut self) -> u32 {
        let child = self.finish_proto();
        let p = self.proto();
        p.protos.push(Arc::new(child));
        p.protos.len() as u32 - 1
    }

    // ---- expressions ----

    fn compile(&mut self, e: &ast::Expr) -> CResult<()> {
        let span = self.span_of(e.syntax());
        match e {
            ast::Expr::Literal(l) => self.compile_literal(l, span),
            ast::Expr::Str(s) => self.compile_str(s, span),
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) => {
                self.compile_path(e, span)
            }
            ast::Expr::PathSearch(p) => {
                let text = p
                    .content()
                    .map(|c| c.text().to_string())
                    .unwrap_or_default();
                let inner = text
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string();
                self.emit_var(Symbol::intern("__findFile"), 0, span)?;
                self.emit_var(Symbol::intern("__nixPath"), 0, span)?;
                self.emit(Op::Call, span);
                self.constant(Constant::String(inner.into_bytes().into()), span);
                self.emit(Op::Call, span);
                Ok(())
            }
            ast::Expr::Ident(i) => {
                let name = ident_sym(i);
                self.emit_var(name, 0, span)
            }
            ast::Expr::Paren(p) => match p.expr() {
                Some(e) => self.compile(&e),
                None => Err(self.err(ErrorKind::Parse("empty parentheses".into()), span)),
            },
            ast::Expr::Root(r) => match r.expr() {
                Some(e) => self.compile(&e),
                None => Err(self.err(ErrorKind::Parse("empty expression".into()), span)),
            },
            ast::Expr::List(l) => {
                let mut n = 0;
                for item in l.items() {
                    self.compile_lazy(&item)?;
                    n += 1;
                }
                self.emit(Op::MakeList(n), span);
                Ok(())
            }
            ast::Expr::AttrSet(a) => {
                let set = self.collect_bindings(a.entries(), false)?;
                if is_rec(a) {
                    self.compile_rec(set, span, None)
                } else {
                    self.compile_set(set, span)
                }
            }
            ast::Expr::LetIn(l) => {
                let set = self.collect_bindings(l.entries(), true)?;
                let body = l
                    .body()
                    .ok_or_else(|| self.err(ErrorKind::Parse("let without body".into()), span))?;
                self.compile_rec(set, span, Some(&body))
            }
            ast::Expr::LegacyLet(l) => {
                let set = self.collect_bindings(l.entries(), false)?;
                self.compile_rec(set, span, None)?;
                self.emit(Op::Select(Symbol::intern("body")), span);
                Ok(())
            }
            ast::Expr::With(w) => {
                let [Some(ns), Some(body)] = exprs(w.syntax()) else {
                    return Err(self.err(ErrorKind::Parse("incomplete with".into()), span));
                };
                self.compile_lazy(&ns)?;
                self.push_scope(ScopeKind::With, vec![None], span);
                self.store(0, span);
                self.compile(&body)?;
                self.pop_scope(span);
                Ok(())
            }
            ast::Expr::Lambda(l) => self.compile_lambda(l, span),
            ast::Expr::Apply(a) => self.compile_apply(a, span),
            ast::Expr::Select(s) => self.compile_select(s, span),
            ast::Expr::HasAttr(h) => {
                let (Some(e), Some(path)) = (h.expr(), h.attrpath()) else {
                    return Err(self.err(ErrorKind::Parse("incomplete ?".into()), span));
                };
                self.compile(&e)?;
                let attrs: Vec<ast::Attr> = path.attrs().collect();
                let mut jumps = Vec::new();
                for (i, a) in attrs.iter().enumerate() {
                    let last = i + 1 == attrs.len();
                    match static_attr_sym(a) {
                        Some(sym) => {
                            if last {
                                self.emit(Op::HasLast(sym), span);
                            } else {
                                jumps.push(self.emit(Op::HasStep(sym, 0), span));
                            }
                        }
                        None => {
                            self.compile_dynamic_key(a)?;
                            if last {
                                self.emit(Op::HasLastDyn, span);
                            } else {
                                jumps.push(self.emit(Op::HasStepDyn(0), span));
                            }
                        }
                    }
                }
                for j in jumps {
                    self.patch(j);
                }
                Ok(())
            }
            ast::Expr::IfElse(i) => {
                let [Some(c), Some(t), Some(f)] = exprs(i.syntax()) else {
                    return Err(self.err(ErrorKind::Parse("incomplete if".into()), span));
                };
                self.compile(&c)?;
                let jf = self.emit(Op::JumpIfFalse(0), span);
                self.compile(&t)?;
                let je = self.emit(Op::Jump(0), span);
                self.patch(jf);
                self.compile(&f)?;
                self.patch(je);
                Ok(())
            }
            ast::Expr::Assert(a) => {
                let [Some(c), Some(b)] = exprs(a.syntax()) else {
                    return Err(self.err(ErrorKind::Parse("incomplete assert".into()), span));
                };
                self.compile(&c)?;
                let cspan = self.span_of(c.syntax());
                let _ = cspan;
                self.emit(Op::Assert, span);
                self.compile(&b)
            }
            ast::Expr::UnaryOp(u) => {
                let Some(e) = u.expr() else {
                    return Err(self.err(ErrorKind::Parse("incomplete operator".into()), span));
                };
                self.compile(&e)?;
                match u.operator() {
                    Some(ast::UnaryOpKind::Invert) => self.emit(Op::Not, span),
                    _ => self.emit(Op::Neg, span),
                };
                Ok(())
            }
            ast::Expr::BinOp(b) => self.compile_binop(b, span),
            ast::Expr::CurPos(_) => {
                let loc = Location {
                    file: self.file.clone(),
                    span,
                };
                let (line, col) = loc.line_col();
                self.constant(Constant::Int(col as i64), span);
                self.constant(
                    Constant::String(self.file.name.clone().into_bytes().into()),
                    span,
                );
                self.constant(Constant::Int(line as i64), span);
                let keys = vec![
                    Symbol::intern("column"),
                    Symbol::intern("file"),
                    Symbol::intern("line"),
                ];
                let k = self.attr_site(keys, None);
                self.emit(Op::MakeAttrs(k, 0), span);
                Ok(())
            }
            ast::Expr::Error(_) => Err(self.err(ErrorKind::Parse("syntax error".into()), span)),
        }
    }

    fn compile_literal(&mut self, l: &ast::Literal, span: Span) -> CResult<()> {
        match l.kind() {
            ast::LiteralKind::Integer(i) => match i.value() {
                Ok(v) => self.constant(Constant::Int(v), span),
                Err(_) => {
                    return Err(self.err(
                        ErrorKind::Parse(format!("invalid integer '{}'", i.syntax().text())),
                        span,
                    ))
                }
            },
            ast::LiteralKind::Float(f) => match f.value() {
                Ok(v) => self.constant(Constant::Float(v), span),
                Err(_) => {
                    return Err(self.err(
                        ErrorKind::Parse(format!("invalid float '{}'", f.syntax().text())),
                        span,
                    ))
                }
            },
            ast::LiteralKind::Uri(u) => {
                self.lint(
                    self.opts.lints.url_literals,
                    "URL literals are deprecated; use a string instead",
                    span,
                )?;
                self.constant(Constant::String(u.syntax().text().as_bytes().into()), span)
            }
        }
        Ok(())
    }

    fn compile_str(&mut self, s: &ast::Str, span: Span) -> CResult<()> {
        if let Some(text) = plain_str(s) {
            let bytes = crate::source_bytes::restore(&text).into_owned();
            self.constant(Constant::String(bytes.into()), span);
            return Ok(());
        }
        let parts = s.normalized_parts();
        for p in &parts {
            if let InterpolPart::Literal(l) = p {
                if l.contains('\0') {
                    return Err(self.err(
                        ErrorKind::Parse("input string cannot be represented as Nix string because it contains null bytes".into()),
                        span,
                    ));
                }
            }
        }
        if parts.iter().all(|p| matches!(p, InterpolPart::Literal(_))) {
            let mut text = String::new();
            for p in parts {
                if let InterpolPart::Literal(l) = p {
                    text.push_str(&l);
                }
            }
            let bytes = crate::source_bytes::restore(&text).into_owned();
            self.constant(Constant::String(bytes.into()), span);
            return Ok(());
        }
        let mut n = 0;
        for p in parts {
            match p {
                InterpolPart::Literal(l) => {
                    if l.is_empty() {
                        continue;
                    }
                    let bytes = crate::source_bytes::restore(&l).into_owned();
                    self.constant(Constant::String(bytes.into()), span)
                }
                InterpolPart::Interpolation(i) => {
                    let Some(e) = i.expr() else {
                        return Err(self.err(ErrorKind::Parse("empty interpolation".into()), span));
                    };
                    self.compile(&e)?;
                }
            }
            n += 1;
        }
        self.emit(Op::Interpolate(n), span);
        Ok(())
    }

    fn compile_path(&mut self, e: &ast::Expr, span: Span) -> CResult<()> {
        let parts = match e {
            ast::Expr::PathAbs(p) => p.parts(),
            ast::Expr::PathRel(p) => p.parts(),
            ast::Expr::PathHome(p) => p.parts(),
            _ => unreachable!("compile_path on a non-path"),
        };
        let file = self.file.clone();
        let resolve_prefix = |text: &str, dir: &Path| -> CResult<String> {
            let trailing = text.ends_with('/');
            let abs = if let Some(rest) = text.strip_prefix('~') {
                let home = std::env::var("HOME").map_err(|_| {
                    EvalError::new(
                        ErrorKind::other("cannot resolve '~' in a path: HOME is not set"),
                        Some(Location {
                            file: file.clone(),
                            span,
                        }),
                    )
                })?;
                PathBuf::from(format!("{home}{rest}"))
            } else if text.starts_with('/') {
                PathBuf::from(text)
            } else {
                dir.join(text)
            };
            let mut s = canon_path(&abs).to_string_lossy().into_owned();
            if trailing && !s.ends_with('/') {
                s.push('/');
            }
            Ok(s)
        };
        let dir = self.file.dir.clone();
        if let Some(InterpolPart::Literal(first)) = parts.first() {
            let t = first.text();
            if t.starts_with('/') || t.starts_with('~') {
                self.lint(
                    self.opts.lints.absolute_path_literals,
                    "absolute path literal",
                    span,
                )?;
            } else if !t.starts_with("./") && !t.starts_with("../") {
                self.lint(
                    self.opts.lints.short_path_literals,
                    "relative path literal without './' prefix",
                    span,
                )?;
            }
        }
        if parts.iter().all(|p| matches!(p, InterpolPart::Literal(_))) {
            let mut text = String::new();
            for p in &parts {
                if let InterpolPart::Literal(l) = p {
                    text.push_str(l.text());
                }
            }
            let s = resolve_prefix(&text, &dir)?;
            self.constant(Constant::Path(PathBuf::from(s)), span);
            return Ok(());
        }
        let mut n = 0;
        for (i, p) in parts.iter().enumerate() {
            match p {
                InterpolPart::Literal(l) => {
                    let text = if i == 0 {
                        resolve_prefix(l.text(), &dir)?
                    } else {
                        l.text().to_string()
                    };
                    self.constant(Constant::String(text.into_bytes().into()), span);
                }
                InterpolPart::Interpolation(ip) => {
                    let Some(e) = ip.expr() else {
                        return Err(self.err(ErrorKind::Parse("empty interpolation".into()), span));
                    };
                    self.compile(&e)?;
                }
            }
            n += 1;
        }
        self.emit(Op::Interpolate(n), span);
        self.emit(Op::ToPath, span);
        Ok(())
    }

    fn compile_binop(&mut self, b: &ast::BinOp, span: Span) -> CResult<()> {
        use ast::BinOpKind as K;
        let ([Some(l), Some(r)], Some(op)) = (exprs(b.syntax()), b.operator()) else {
            return Err(self.err(ErrorKind::Parse("incomplete operator".into()), span));
        };
        match op {
            K::And | K::Or | K::Implication => {
                self.compile(&l)?;
                let j = match op {
                    K::Or => self.emit(Op::JumpIfTrue(0), span),
                    _ => self.emit(Op::JumpIfFalse(0), span),
                };
                self.compile(&r)?;
                self.emit(Op::AssertBool, span);
                let end = self.emit(Op::Jump(0), span);
                self.patch(j);
                match op {
                    K::And => self.emit(Op::False, span),
                    _ => self.emit(Op::True, span),
                };
                self.patch(end);
                return Ok(());
            }
            K::PipeRight => {
                self.compile(&r)?;
                self.compile_lazy(&l)?;
                self.emit(Op::Call, span);
                return Ok(());
            }
            K::PipeLeft => {
                self.compile(&l)?;
                self.compile_lazy(&r)?;
                self.emit(Op::Call, span);
                return Ok(());
            }
            _ => {}
        }
        // `a <= b` is `!(b < a)` and `a > b` is `b < a`, as C++ Nix reads them: their
        // right operand is evaluated first.
        let (first, second, op) = match op {
            K::LessOrEq => (&r, &l, K::MoreOrEq),
            K::More => (&r, &l, K::Less),
            op => (&l, &r, op),
        };
        self.compile(first)?;
        self.compile(second)?;
        let op = match op {
            K::Concat => Op::Concat,
            K::Update => Op::Update,
            K::Add => Op::Add,
            K::Sub => Op::Sub,
            K::Mul => Op::Mul,
            K::Div => Op::Div,
            K::Equal => Op::Eq,
            K::NotEqual => Op::Neq,
            K::Less => Op::Lt,
            K::MoreOrEq => Op::Ge,
            K::LessOrEq
            | K::More
            | K::And
            | K::Or
            | K::Implication
            | K::PipeLeft
            | K::PipeRight => unreachable!(),
        };
        self.emit(op, span);
        Ok(())
    }

    fn compile_dynamic_key(&mut self, a: &ast::Attr) -> CResult<()> {
        let span = self.span_of(a.syntax());
        match a {
            ast::Attr::Ident(i) => {
                self.constant(
                    Constant::String(ident_sym(i).as_str().as_bytes().into()),
                    span,
                );
                Ok(())
            }
            ast::Attr::Str(s) => self.compile_str(s, span),
            ast::Attr::Dynamic(d) => match d.expr() {
                Some(e) => self.compile(&e),
                None => Err(self.err(ErrorKind::Parse("empty dynamic attribute".into()), span)),
            },
        }
    }

    fn compile_select(&mut self, s: &ast::Select, span: Span) -> CResult<()> {
        let (Some(e), Some(path), default) = select_parts(s) else {
            return Err(self.err(ErrorKind::Parse("incomplete selection".into()), span));
        };
        self.compile(&e)?;
        let mut jumps = Vec::new();
        for a in path.attrs() {
            let aspan = self.span_of(a.syntax());
            match static_attr_sym(&a) {
                Some(sym) => {
                    if default.is_some() {
                        jumps.push(self.emit(Op::SelectOr(sym, 0), aspan));
                    } else {
                        self.emit(Op::Select(sym), aspan);
                    }
                }
                None => {
                    self.compile_dynamic_key(&a)?;
                    if default.is_some() {
                        jumps.push(self.emit(Op::SelectDynOr(0), aspan));
                    } else {
                        self.emit(Op::SelectDyn, aspan);
                    }
                }
            }
        }
        if let Some(d) = default {
            let end = self.emit(Op::Jump(0), span);
            for j in jumps {
                self.patch(j);
            }
            self.compile(&d)?;
            self.patch(end);
        }
        Ok(())
    }

    /// `f a1 a2 ... an`: the function, then its arguments two at a time (`Op::Call2`,
    /// which binds both in one step when `f` is curried), the last alone if odd.
    fn compile_apply(&mut self, a: &ast::Apply, span: Span) -> CResult<()> {
        // The spine, outermost application first: (argument, span of the application).
        let mut args = Vec::new();
        let mut app = a.clone();
        let mut app_span = span;
        let head = loop {
            let [Some(f), Some(x)] = exprs(app.syntax()) else {
                return Err(self.err(ErrorKind::Parse("incomplete application".into()), app_span));
            };
            args.push((x, app_span));
            match f {
                ast::Expr::Apply(inner) => {
                    app_span = self.span_of(inner.syntax());
                    app = inner;
                }
                f => break f,
            }
        };
        // `None`: the head's value is already computed (see `inline_builtin_calls`).
        let (mut strict, mut maybe) = match self.inline_builtin_calls(head, &mut args)? {
            Some(head) => {
                self.compile(&head)?;
                let strict = self.strict_args(&head, args.len());
                let maybe = match strict {
                    0 => self.maybe_strict_args(&head, args.len()),
                    _ => 0,
                };
                (strict, maybe)
            }
            None => (0, 0),
        };
        let mut arg = |c: &mut Self, x: &ast::Expr, pos: ArgPos| {
            let now = match (strict & 1 != 0, maybe & 1 != 0) {
                (true, _) => Defer::Now,
                (false, true) => Defer::Arg(pos),
                (false, false) => Defer::Lazy,
            };
            strict >>= 1;
            maybe >>= 1;
            c.compile_deferred(x, now)
        };
        while let Some((x, xspan)) = args.pop() {
            match args.pop() {
                Some((y, yspan)) => {
                    arg(self, &x, ArgPos::First)?;
                    arg(self, &y, ArgPos::Second)?;
                    self.emit(Op::Call2, yspan);
                    self.emit(Op::Call, xspan);
                    self.emit(Op::Swap, yspan);
                    self.emit(Op::Call, yspan);
                }
                None => {
                    arg(self, &x, ArgPos::Only)?;
                    self.emit(Op::Call, xspan);
                }
            }
        }
        Ok(())
    }

    /// The arguments (bit i for the i-th) that `head`, applied to `n` arguments, may
    /// force first thing: those of the builtin it is named after (`isAttrs`,
    /// `lib.isAttrs`), whose value is only known when the call runs. The VM decides
    /// each (`Op::ArgThunk`); a head of any other name gets plain thunks.
    fn maybe_strict_args(&self, head: &ast::Expr, n: usize) -> u32 {
        let name = match strip_parens(head.clone()) {
            ast::Expr::Ident(i) => ident_sym(&i),
            ast::Expr::Select(s) => {
                let (_, Some(path), None) = select_parts(&s) else {
                    return 0;
                };
                match path.attrs().last().and_then(|a| static_attr_sym(&a)) {
                    Some(name) => name,
                    None => return 0,
                }
            }
            _ => return 0,
        };
        match strict_builtin(name) {
            Some((arity, mask)) if arity <= n => mask,
            _ => 0,
        }
    }

    /// The arguments (bit i for the i-th) that `head`, just compiled, applied to `n`
    /// arguments forces before anything else, when `head` names a plain builtin it
    /// saturates (`map`, `builtins.mapAttrs`): computed at the call, they need no
    /// thunk, and the call is not made a second time once the VM has forced one.
    /// Nothing else happens in between (the head is a global, the arguments before
    /// are thunks), so the order of evaluation is the builtin's.
    fn strict_args(&self, head: &ast::Expr, n: usize) -> u32 {
        // Read off the head's code (a global, or a global's attribute): the names are
        // resolved already. The syntax is checked too: `(if c then f else map)` ends
        // with the same code as `map`.
        let kind = strip_parens(head.clone()).syntax().kind();
        let builtins = self.builtins_slot;
        let ops = &self.protos.last().expect("a proto is always open").ops;
        let (name, global) = match (kind, ops.as_slice()) {
            (rnix::SyntaxKind::NODE_IDENT, [.., Op::Global(g)]) => {
                (self.global_names[*g as usize], Some(*g as usize))
            }
            // Only a filter: `(if c then x else builtins).map` ends so too.
            (rnix::SyntaxKind::NODE_SELECT, [.., Op::Global(g), Op::Select(_)])
                if Some(*g) == builtins =>
            {
                match self.builtin_named(head) {
                    Some(name) => (name, None),
                    None => return 0,
                }
            }
            _ => return 0,
        };
        let Some((arity, mask)) = strict_builtin(name) else {
            return 0;
        };
        // The global itself, not a REPL rebinding of its name (a later slot).
        let rebound =
            global.is_some_and(|g| self.global_names.iter().position(|s| *s == name) != Some(g));
        if arity > n || rebound {
            return 0;
        }
        mask
    }

    /// `builtins.seq a b` and `builtins.addErrorContext msg e` applied to (at least) both
    /// their arguments, written so: code for what the call does in place of the call,
    /// with no thunk for `b` or `e`. Returns what is left to compile as the head of the
    /// rest of the application (`b`), or `None` where that head's value is already
    /// computed (`e`); `args` keeps the arguments still to apply.
    ///
    /// `b` and `e` are then computed where the call was, rather than when their value is
    /// first needed: an application is compiled inline only where its value is needed
    /// (otherwise it is a thunk) or as a function's result, which C++ Nix computes when
    /// the call is made anyway.
    fn inline_builtin_calls(
        &mut self,
        mut head: ast::Expr,
        args: &mut Vec<(ast::Expr, Span)>,
    ) -> CResult<Option<ast::Expr>> {
        while args.len() >= 2 {
            let Some(name) = self.builtin_named(&head) else {
                break;
            };
            match name.as_str() {
                "seq" => {
                    let (a, _) = args.pop().expect("two arguments");
                    let (b, _) = args.pop().expect("two arguments");
                    let aspan = self.span_of(a.syntax());
                    self.compile(&a)?;
                    self.emit(Op::Force, aspan);
                    self.emit(Op::Pop, aspan);
                    head = b;
                }
                "addErrorContext" => {
                    // `e` forced, as the builtin forces it, inside a range whose errors
                    // get the message (`ErrorContext`); the message is code kept aside,
                    // run only for an error.
                    let (msg, mspan) = args.pop().expect("two arguments");
                    let (e, espan) = args.pop().expect("two arguments");
                    self.thunk_code(mspan, |c| c.compile(&msg))?;
                    let msg = self.add_child();
                    let start = self.proto().ops.len() as u32;
                    self.compile(&e)?;
                    self.emit(Op::Force, espan);
                    let end = self.proto().ops.len() as u32;
                    self.proto().contexts.push(ErrorContext { start, end, msg });
                    return Ok(None);
                }
                _ => break,
            }
        }
        Ok(Some(head))
    }

    /// `e` is `builtins.NAME` (the global `builtins`, unshadowed): `NAME`.
    fn builtin_named(&self, e: &ast::Expr) -> Option<Symbol> {
        let ast::Expr::Select(s) = strip_parens(e.clone()) else {
            return None;
        };
        let (Some(base), Some(path), None) = select_parts(&s) else {
            return None;
        };
        let ast::Expr::Ident(i) = strip_parens(base) else {
            return None;
        };
        let name = ident_sym(&i);
        match self.resolve(name, 0) {
            Res::Global(g) if Some(g) == self.builtins_slot => {}
            _ => return None,
        }
        let mut attrs = path.attrs();
        let (Some(a), None) = (attrs.next(), attrs.next()) else {
            return None;
        };
        static_attr_sym(&a)
    }

    fn compile_lambda(&mut self, l: &ast::Lambda, span: Span) -> CResult<()> {
        self.compile_lambda_fused(l, span, Vec::new())
    }

    /// Compile a lambda whose call environment starts with `prefix`: the slots of the
    /// lambda directly around it (`a: b: body` gives `b` the environment `[a, b]`), copied
    /// from its closure's environment at the call, so the body sees both arguments in one
    /// environment and a two-argument call builds one (see `Code::curried`).
    fn compile_lambda_fused(
        &mut self,
        l: &ast::Lambda,
        span: Span,
        prefix: Vec<Option<Symbol>>,
    ) -> CResult<()> {
        let (Some(param), [Some(body)]) = parts::<ast::Param, 1>(l.syntax()) else {
            return Err(self.err(ErrorKind::Parse("incomplete function".into()), span));
        };
        self.open_proto(ProtoKind::Lambda, span);
        self.proto().fused = prefix.len() as u32;
        let base = prefix.len();
        let mut names: Vec<Option<Symbol>> = prefix;
        let mut formals_info = None;
        let mut defaults: Vec<Option<ast::Expr>> = Vec::new();
        let arg_name;
        match &param {
            ast::Param::IdentParam(ip) => {
                let name = ip.ident().map(|i| ident_sym(&i));
                arg_name = name;
                names.push(name);
            }
            ast::Param::Pattern(p) => {
                let bind = p.pat_bind().and_then(|b| b.ident()).map(|i| ident_sym(&i));
                arg_name = None;
                names.push(bind);
                let mut entries = Vec::new();
                let mut has_default = Vec::new();
                for e in p.pat_entries() {
                    let Some(id) = e.ident() else { continue };
                    let sym = ident_sym(&id);
                    if Some(sym) == bind {
                        return Err(self.err(
                            ErrorKind::Parse(format!(
                                "duplicate formal function argument '{}'",
                                sym
                            )),
                            self.span_of(e.syntax()),
                        ));
                    }
                    let espan = self.span_of(id.syntax());
                    if entries.iter().any(|(s, _)| *s == sym) {
                        return Err(self.err(
                            ErrorKind::Parse(format!("duplicate formal function argument '{sym}'")),
                            espan,
                        ));
                    }
                    entries.push((sym, Some(espan)));
                    let default = e.default();
                    has_default.push(default.is_some());
                    defaults.push(default);
                    names.push(Some(sym));
                }
                formals_info = Some(Formals {
                    entries,
                    has_default,
                    ellipsis: has_ellipsis(p),
                    bind,
                });
            }
        }
        // A name of the outer lambda that this one binds again is shadowed: no name, so
        // lookups and debuggers find the inner one.
        for i in 0..base {
            if names[i].is_some() && names[base..].contains(&names[i]) {
                names[i] = None;
            }
        }
        let info = Arc::new(ScopeInfo {
            kind: ScopeKind::Lambda,
            names: names.clone(),
        });
        {
            let p = self.proto();
            p.call_scope = Some(info);
            p.lambda = Some(LambdaInfo {
                arg: arg_name,
                formals: formals_info.clone(),
            });
        }
        if let (ast::Param::IdentParam(_), ast::Expr::Lambda(inner)) =
            (&param, strip_parens(body.clone()))
        {
            // This lambda's body only makes the inner closure, whose environment starts
            // with this one's slots: no lookup happens in this scope itself.
            let ispan = self.span_of(inner.syntax());
            self.compile_lambda_fused(&inner, ispan, names)?;
            self.emit(Op::Return, span);
            return self.finish_lambda(span);
        }
        let n = names.len();
        let mut initialized = vec![false; n];
        initialized[..=base].fill(true);
        let lets = if defaults.iter().any(|d| d.is_some()) {
            LetSlots::Never
        } else {
            LetSlots::Free
        };
        self.scopes.push(CScope {
            kind: ScopeKind::Lambda,
            shown: names.clone(),
            index: CScope::index_of(&names),
            names,
            initialized,
            proto_level: self.protos.len() - 1,
            never_init: false,
            lets,
            pushed: None,
        });
        if formals_info.is_some() {
            let pspan = self.span_of(param.syntax());
            self.emit(Op::CheckFormals, pspan);
            for (i, d) in defaults.iter().enumerate() {
                match d {
                    // Bound by `CheckFormals`.
                    None => self.scopes.last_mut().unwrap().initialized[base + i + 1] = true,
                    Some(d) => {
                        let j = self.emit(Op::GetFormal(i as u32, 0), pspan);
                        self.compile_lazy(d)?;
                        self.store(base + i + 1, pspan);
                        self.patch(j);
                    }
                }
            }
            // The mask of missing defaults `CheckFormals` left.
            self.emit(Op::Pop, pspan);
        }
        self.compile(&body)?;
        self.emit(Op::Return, span);
        let scope = self.scopes.pop().expect("the lambda's scope");
        if scope.shown.len() > n {
            // `let`s joined the call's environment: it has their slots too.
            self.proto().call_scope = Some(Arc::new(ScopeInfo {
                kind: ScopeKind::Lambda,
                names: scope.shown,
            }));
        }
        self.finish_lambda(span)
    }

    /// Close the lambda proto being compiled and make its closure in the enclosing one.
    fn finish_lambda(&mut self, span: Span) -> CResult<()> {
        let child = self.finish_proto();
        let p = self.proto();
        p.protos.push(Arc::new(child));
        let idx = p.protos.len() as u32 - 1;
        self.emit(Op::Closure(idx), span);
        Ok(())
    }

    // ---- attribute sets and let ----

    fn collect_bindings(
        &mut self,
        entries: impl Iterator<Item = ast::Entry>,
        is_let: bool,
    ) -> CResult<BSet> {
        let mut set = BSet::default();
        for entry in entries {
            self.add_entry(&mut set, entry, is_let)?;
        }
        Ok(set)
    }

    fn add_entry(&mut self, set: &mut BSet, entry: ast::Entry, is_let: bool) -> CResult<()> {
        match entry {
            ast::Entry::Inherit(inh) => {
                let from = match inh.from().and_then(|f| f.expr()) {
                    Some(e) => {
                        set.inherit_froms.push(e);
                        Some(set.inherit_froms.len() - 1)
                    }
                    None => None,
                };
                for a in inh.attrs() {
                    let aspan = self.span_of(a.syntax());
                    let Some(sym) = static_attr_sym(&a) else {
                        return Err(self.err(
                            ErrorKind::Parse("dynamic attributes not allowed in inherit".into()),
                            aspan,
                        ));
                    };
                    if set.find(sym).is_some() {
                        return Err(self.dup_err(sym.as_str(), aspan));
                    }
                    set.statics
                        .push((sym, BVal::Inherit { from, name: sym }, aspan));
                }
                Ok(())
            }
            ast::Entry::AttrpathValue(kv) => {
                let span = self.span_of(kv.syntax());
                let (Some(path), [Some(value)]) = parts::<ast::Attrpath, 1>(kv.syntax()) else {
                    return Err(self.err(ErrorKind::Parse("incomplete binding".into()), span));
                };
                let attrs: Vec<ast::Attr> = path.attrs().collect();
                self.insert_path(set, &attrs, value, is_let, span)
            }
        }
    }

    fn insert_path(
        &mut self,
        set: &mut BSet,
        attrs: &[ast::Attr],
        value: ast::Expr,
        is_let: bool,
        span: Span,
    ) -> CResult<()> {
        let Some((first, rest)) = attrs.split_first() else {
            return Err(self.err(ErrorKind::Parse("empty attribute path".into()), span));
        };
        let Some(sym) = static_attr_sym(first) else {
            if is_let {
                return Err(self.err(
                    ErrorKind::Parse("dynamic attributes not allowed in let".into()),
                    span,
                ));
            }
            let key = match first {
                ast::Attr::Dynamic(d) => d.expr(),
                ast::Attr::Str(s) => Some(ast::Expr::Str(s.clone())),
                ast::Attr::Ident(_) => None,
            };
            let Some(key) = key else {
                return Err(self.err(ErrorKind::Parse("bad dynamic attribute".into()), span));
            };
            if rest.is_empty() {
                set.dynamics.push((key, BVal::Expr(value), span));
            } else {
                let mut inner = BSet::default();
                self.insert_path(&mut inner, rest, value, false, span)?;
                set.dynamics.push((key, BVal::Set(Box::new(inner)), span));
            }
            return Ok(());
        };
        let name = sym.as_str();
        let existing = set.find(sym);
        if rest.is_empty() {
            match existing {
                None => {
                    set.statics.push((sym, BVal::Expr(value), span));
                    Ok(())
                }
                Some(i) => {
                    // `a.b = 1; a = { c = 2; };` merges when both sides are plain sets.
                    let mergeable_new = match &value {
                        ast::Expr::AttrSet(a) => !is_rec(a),
                        _ => false,
                    };
                    self.make_mergeable(set, i, name, span)?;
                    if !mergeable_new {
                        return Err(self.dup_err(name, span));
                    }
                    let ast::Expr::AttrSet(a) = value else {
                        unreachable!()
                    };
                    let BVal::Set(inner) = &mut set.statics[i].1 else {
                        unreachable!()
                    };
                    let mut inner = std::mem::take(inner);
                    for e in a.entries() {
                        self.add_entry(&mut inner, e, false)?;
                    }
                    set.statics[i].1 = BVal::Set(inner);
                    Ok(())
                }
            }
        } else {
            let i = match existing {
                None => {
                    set.statics.push((sym, BVal::Set(Box::default()), span));
                    set.statics.len() - 1
                }
                Some(i) => {
                    self.make_mergeable(set, i, name, span)?;
                    i
                }
            };
            let BVal::Set(inner) = &mut set.statics[i].1 else {
                unreachable!()
            };
            let mut inner = std::mem::take(inner);
            self.insert_path(&mut inner, rest, value, false, span)?;
            set.statics[i].1 = BVal::Set(inner);
            Ok(())
        }
    }

    fn dup_err(&self, name: &str, span: Span) -> EvalError {
        self.err(ErrorKind::DuplicateAttr(name.to_string()), span)
    }

    /// Turn `set.statics[i]` into a `BVal::Set` if it is a plain attribute set literal.
    fn make_mergeable(&mut self, set: &mut BSet, i: usize, name: &str, span: Span) -> CResult<()> {
        match &set.statics[i].1 {
            BVal::Set(_) => Ok(()),
            BVal::Expr(ast::Expr::AttrSet(a)) => {
                let a = a.clone();
                let mut inner = BSet {
                    rec: is_rec(&a),
                    ..BSet::default()
                };
                for e in a.entries() {
                    self.add_entry(&mut inner, e, false)?;
                }
                set.statics[i].1 = BVal::Set(Box::new(inner));
                Ok(())
            }
            _ => Err(self.dup_err(name, span)),
        }
    }

    /// Register the static keys of an attribute set built here, with the spans where
    /// they are defined (and whether they are all its keys). Returns the index for
    /// `Op::MakeAttrs`.
    fn attr_site(&mut self, keys: Vec<Symbol>, spans: Option<(Vec<Span>, bool)>) -> u32 {
        let pos = spans.map(|(spans, complete)| {
            let entries = keys.iter().copied().zip(spans).collect();
            Arc::new(AttrPos::site(self.file.clone(), entries, complete))
        });
        let p = self.proto();
        p.attr_keys.push(keys);
        p.attr_pos.push(pos);
        p.attr_keys.len() as u32 - 1
    }

    fn sorted_statics(set: &mut BSet) {
        set.statics.sort_by(|a, b| a.0.cmp_name(b.0));
        // Positions have moved; nothing is looked up once a set is sorted, but a stale
        // index must not outlive them.
        set.index.clear();
    }

    fn bval_is_cheap(&self, v: &BVal) -> bool {
        match v {
            BVal::Expr(e) => self.is_cheap(e),
            BVal::Inherit { from: None, name } => matches!(
                self.resolve(*name, 0),
                Res::Global(_) | Res::Local { init: true, .. }
            ),
            BVal::Inherit { .. } => false,
            BVal::Set(s) => {
                !self.opts.cpp_thunks
                    && !s.rec
                    && s.dynamics.is_empty()
                    && s.inherit_froms.is_empty()
                    && s.statics.iter().all(|(_, v, _)| self.bval_is_cheap_leaf(v))
            }
        }
    }

    fn bval_is_cheap_leaf(&self, v: &BVal) -> bool {
        match v {
            BVal::Set(_) => self.bval_is_cheap(v),
            // Leaves of a plain nested set are compiled lazily anyway.
            _ => true,
        }
    }

    /// Push the value of a binding. `inherit_skip` is how many scopes an `inherit x;`
    /// looks past (the rec/let scope itself); `hidden` is where `inherit (e)` sources
    /// live, as (depth from the current scope, first slot).
    fn compile_bval(
        &mut self,
        v: BVal,
        span: Span,
        inherit_skip: usize,
        hidden: (u32, u32),
    ) -> CResult<()> {
        match v {
            BVal::Expr(e) => self.compile_lazy(&e),
            BVal::Inherit { from: None, name } => match self.resolve(name, inherit_skip) {
                Res::Local { init: true, .. } | Res::Global(_) => {
                    self.emit_var(name, inherit_skip, span)
                }
                Res::Undefined => self.emit_var(name, inherit_skip, span),
                _ => {
                    self.open_proto(ProtoKind::Thunk, span);
                    self.emit_var(name, inherit_skip, span)?;
                    self.emit(Op::Return, span);
                    self.emit_child_thunk(span);
                    Ok(())
                }
            },
            BVal::Inherit {
                from: Some(k),
                name,
            } => {
                self.open_proto(ProtoKind::Thunk, span);
                self.emit(Op::Local(hidden.0, hidden.1 + k as u32), span);
                self.emit(Op::Select(name), span);
                self.emit(Op::Return, span);
                self.emit_child_thunk(span);
                Ok(())
            }
            BVal::Set(s) => {
                let v = BVal::Set(s);
                if self.bval_is_cheap(&v) {
                    let BVal::Set(s) = v else { unreachable!() };
                    self.compile_set(*s, span)
                } else {
                    let BVal::Set(s) = v else { unreachable!() };
                    self.open_proto(ProtoKind::Thunk, span);
                    if s.rec {
                        self.compile_rec(*s, span, None)?;
                    } else {
                        self.compile_set(*s, span)?;
                    }
                    self.emit(Op::Return, span);
                    self.emit_child_thunk(span);
                    Ok(())
                }
            }
        }
    }

    /// A non-recursive attribute set.
    fn compile_set(&mut self, mut set: BSet, span: Span) -> CResult<()> {
        Self::sorted_statics(&mut set);
        let froms = std::mem::take(&mut set.inherit_froms);
        // `inherit (x) a;` with `x` a variable (`{ inherit (m) file; ... }`, all over
        // the module system) reads `x` where it is: no scope is needed to hold it.
        let direct: Vec<ast::Expr> = froms.iter().map(|f| strip_parens(f.clone())).collect();
        let direct = direct
            .iter()
            .all(|f| self.is_known_var(f))
            .then_some(direct);
        let hidden = !froms.is_empty() && direct.is_none();
        if hidden {
            for f in &froms {
                self.compile_lazy(f)?;
            }
            self.push_scope(ScopeKind::Hidden, vec![None; froms.len()], span);
            for i in (0..froms.len()).rev() {
                self.store(i, span);
            }
        }
        // Inherits look past the hidden scope only (it has no names anyway).
        let keys: Vec<Symbol> = set.statics.iter().map(|(k, _, _)| *k).collect();
        let spans: Vec<Span> = set.statics.iter().map(|(_, _, s)| *s).collect();
        for (_, v, vspan) in set.statics {
            match (v, &direct) {
                (
                    BVal::Inherit {
                        from: Some(k),
                        name,
                    },
                    Some(froms),
                ) => self.compile_inherit_from(froms[k].clone(), name, vspan)?,
                (v, _) => self.compile_bval(v, vspan, 0, (0, 0))?,
            }
        }
        let ndyn = set.dynamics.len() as u32;
        for (k, v, vspan) in set.dynamics {
            self.compile(&k)?;
            self.compile_bval(v, vspan, 0, (0, 0))?;
        }
        let k = self.attr_site(keys, Some((spans, ndyn == 0)));
        self.emit(Op::MakeAttrs(k, ndyn), span);
        if hidden {
            self.pop_scope(span);
        }
        Ok(())
    }

    /// Can a `let` with these bindings take slots of the enclosing lambda's call
    /// environment rather than push a scope of its own? Only directly in the lambda's
    /// body (its code, no other scope between), so the slots are fresh for each call and
    /// filled once. The environment must then be registered as a recursive scope (see
    /// `recursive_scopes`), once: `Some(true)` when this `let` has to do it.
    /// `inherit x;` would have to skip the `let`'s own names in the same scope: not here.
    fn merge_let(&self, set: &BSet) -> Option<bool> {
        let s = self.scopes.last()?;
        if s.kind != ScopeKind::Lambda || s.proto_level != self.protos.len() - 1 {
            return None;
        }
        if set
            .statics
            .iter()
            .any(|(_, v, _)| matches!(v, BVal::Inherit { from: None, .. }))
        {
            return None;
        }
        match s.lets {
            LetSlots::Free => Some(true),
            LetSlots::Registered => Some(false),
            LetSlots::Never | LetSlots::Done => None,
        }
    }

    /// A `let` whose slots are added to the enclosing lambda's scope (see `merge_let`);
    /// its names go out of scope after its body.
    fn compile_let_in_lambda(
        &mut self,
        set: BSet,
        froms: Vec<ast::Expr>,
        names: Vec<Option<Symbol>>,
        register: bool,
        body: &ast::Expr,
        span: Span,
    ) -> CResult<()> {
        let nstatic = set.statics.len();
        let scope = self.scopes.last_mut().expect("a lambda's scope");
        let base = scope.names.len();
        scope
            .initialized
            .extend(std::iter::repeat_n(false, names.len()));
        scope.shown.extend(names.iter().copied());
        scope.names.extend(names);
        scope.reindex();
        let first_op = self.here() as usize;
        for (i, f) in froms.iter().enumerate() {
            self.compile_lazy(f)?;
            self.store(base + nstatic + i, span);
        }
        for (i, (_, v, vspan)) in set.statics.into_iter().enumerate() {
            self.compile_bval(v, vspan, 0, (0, (base + nstatic) as u32))?;
            self.store(base + i, vspan);
        }
        // Only what captures this environment can make a cycle through its slots.
        let captures = self.proto().ops[first_op..]
            .iter()
            .any(|op| matches!(op, Op::Thunk(_) | Op::ArgThunk(..) | Op::Closure(_)));
        let registers = register && captures;
        if registers {
            self.emit(Op::MarkRecursive(base as u32), span);
            self.scopes.last_mut().expect("a lambda's scope").lets = LetSlots::Registered;
        }
        self.compile(body)?;
        let scope = self.scopes.last_mut().expect("a lambda's scope");
        scope.names[base..].fill(None);
        scope.reindex();
        if registers {
            scope.lets = LetSlots::Done;
        }
        Ok(())
    }

    /// A `rec` set (body = None) or a `let` (body = Some).
    fn compile_rec(&mut self, mut set: BSet, span: Span, body: Option<&ast::Expr>) -> CResult<()> {
        Self::sorted_statics(&mut set);
        let nstatic = set.statics.len();
        let froms = std::mem::take(&mut set.inherit_froms);
        let mut names: Vec<Option<Symbol>> = set.statics.iter().map(|(k, _, _)| Some(*k)).collect();
        names.extend(std::iter::repeat_n(None, froms.len()));
        if let Some(b) = body {
            if let Some(register) = self.merge_let(&set) {
                return self.compile_let_in_lambda(set, froms, names, register, b, span);
            }
        }
        let kind = if body.is_some() {
            ScopeKind::Let
        } else {
            ScopeKind::RecAttrs
        };
        self.push_scope(kind, names, span);
        if body.is_none()
            && set
                .statics
                .iter()
                .any(|(k, _, _)| k.as_str() == "__overrides")
        {
            self.scopes.last_mut().unwrap().never_init = true;
        }
        for (i, f) in froms.iter().enumerate() {
            self.compile_lazy(f)?;
            self.store(nstatic + i, span);
        }
        let keys: Vec<Symbol> = set.statics.iter().map(|(k, _, _)| *k).collect();
        let spans: Vec<Span> = set.statics.iter().map(|(_, _, s)| *s).collect();
        for (i, (_, v, vspan)) in set.statics.into_iter().enumerate() {
            self.compile_bval(v, vspan, 1, (0, nstatic as u32))?;
            self.store(i, vspan);
        }
        let overrides = if body.is_none() {
            keys.iter().position(|k| k.as_str() == "__overrides")
        } else {
            None
        };
        if let Some(ov) = overrides {
            self.emit(Op::Local(0, ov as u32), span);
            self.emit(Op::Overrides, span);
        }
        match body {
            Some(b) => {
                self.compile(b)?;
            }
            None => {
                for i in 0..nstatic {
                    self.emit(Op::Local(0, i as u32), span);
                }
                let ndyn = set.dynamics.len() as u32;
                for (k, v, vspan) in set.dynamics {
                    self.compile(&k)?;
                    self.compile_bval(v, vspan, 0, (0, nstatic as u32))?;
                }
                let k = self.attr_site(keys, Some((spans, ndyn == 0)));
                self.emit(Op::MakeAttrs(k, ndyn), span);
                if let Some(ov) = overrides {
                    self.emit(Op::Local(0, ov as u32), span);
                    self.emit(Op::Update, span);
                }
            }
        }
        self.pop_scope(span);
        Ok(())
    }
}

/// The builtins with a quick answer (`BuiltinDef::quick`), by name and arity: what
/// `Op::SpecCall` is tried for (a test checks the list against the builtins).
pub(crate) const QUICK_BUILTINS: &[(&str, usize)] = &[
    ("attrNames", 1),
    ("attrValues", 1),
    ("elem", 2),
    ("elemAt", 2),
    ("length", 1),
    ("lessThan", 2),
    ("stringLength", 1),
    ("substring", 3),
    ("toString", 1),
];

// `spec_call` only looks at applications.
const _: () = {
    let mut i = 0;
    while i < QUICK_BUILTINS.len() {
        assert!(QUICK_BUILTINS[i].1 > 0, "a quick builtin takes an argument");
        i += 1;
    }
};

/// How `compile_deferred` defers a value it cannot compute at once for sure.
#[derive(Clone, Copy)]
enum Defer {
    /// In a thunk.
    Lazy,
    /// Not at all: computed now and forced.
    Now,
    /// An argument at this place of a call whose head may be a builtin that forces
    /// it: the VM decides (`Op::ArgThunk`).
    Arg(ArgPos),
}

/// Plain builtins that check their first argument before forcing the others
/// (`BuiltinDef::check_first`; a test checks the list against the builtins).
pub(crate) const CHECKS_FIRST: &[&str] = &[
    "bitAnd",
    "bitOr",
    "bitXor",
    "compareVersions",
    "getAttr",
    "hasAttr",
    "hashFile",
    "hashString",
    "intersectAttrs",
    "match",
    "split",
    "toFile",
];

/// The plain builtins that force some of their arguments, by name, with their arity
/// and which arguments (bit i for the i-th) they force (a test checks the list
/// against the builtins).
pub(crate) const STRICT_BUILTINS: &[(&str, usize, u32)] = &[
    ("abort", 1, 0b1),
    ("add", 2, 0b11),
    ("addDrvOutputDependencies", 1, 0b1),
    ("attrNames", 1, 0b1),
    ("attrValues", 1, 0b1),
    ("baseNameOf", 1, 0b1),
    ("bitAnd", 2, 0b11),
    ("bitOr", 2, 0b11),
    ("bitXor", 2, 0b11),
    ("ceil", 1, 0b1),
    ("compareVersions", 2, 0b11),
    ("dirOf", 1, 0b1),
    ("div", 2, 0b11),
    ("floor", 1, 0b1),
    ("fromJSON", 1, 0b1),
    ("fromTOML", 1, 0b1),
    ("functionArgs", 1, 0b1),
    ("genList", 2, 0b10),
    ("getAttr", 2, 0b11),
    ("getContext", 1, 0b1),
    ("getEnv", 1, 0b1),
    ("hasAttr", 2, 0b11),
    ("hasContext", 1, 0b1),
    ("hashFile", 2, 0b11),
    ("hashString", 2, 0b11),
    ("head", 1, 0b1),
    ("import", 1, 0b1),
    ("intersectAttrs", 2, 0b11),
    ("isAttrs", 1, 0b1),
    ("isBool", 1, 0b1),
    ("isFloat", 1, 0b1),
    ("isFunction", 1, 0b1),
    ("isInt", 1, 0b1),
    ("isList", 1, 0b1),
    ("isNull", 1, 0b1),
    ("isPath", 1, 0b1),
    ("isString", 1, 0b1),
    ("length", 1, 0b1),
    ("map", 2, 0b10),
    ("mapAttrs", 2, 0b10),
    ("match", 2, 0b11),
    ("mul", 2, 0b11),
    ("parseDrvName", 1, 0b1),
    ("parseFlakeRef", 1, 0b1),
    ("pathExists", 1, 0b1),
    ("placeholder", 1, 0b1),
    ("readDir", 1, 0b1),
    ("readFile", 1, 0b1),
    ("readFileType", 1, 0b1),
    ("seq", 2, 0b1),
    ("split", 2, 0b11),
    ("splitVersion", 1, 0b1),
    ("storePath", 1, 0b1),
    ("sub", 2, 0b11),
    ("tail", 1, 0b1),
    ("throw", 1, 0b1),
    ("toFile", 2, 0b11),
    ("typeOf", 1, 0b1),
    ("unsafeDiscardOutputDependency", 1, 0b1),
    ("unsafeDiscardStringContext", 1, 0b1),
    ("unsafeGetAttrPos", 2, 0b11),
];

/// `STRICT_BUILTINS`' arity and mask for `name`: the arguments the compiler may compute
/// early. Of a builtin in `CHECKS_FIRST`, only the first: the VM checks it before
/// forcing the others.
fn strict_builtin(name: Symbol) -> Option<(usize, u32)> {
    static TABLE: OnceLock<FxHashMap<Symbol, (usize, u32)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        STRICT_BUILTINS
            .iter()
            .map(|&(n, arity, mask)| {
                let mask = if CHECKS_FIRST.contains(&n) {
                    mask & 1
                } else {
                    mask
                };
                (Symbol::intern(n), (arity, mask))
            })
            .collect()
    });
    table.get(&name).copied()
}

/// One step of a path `Op::SpecSelect` tries.
enum SpecKey {
    Name(Symbol),
    /// `${k}` with `k` a variable (see `is_known_var`).
    Var(ast::Expr),
}

/// The first `N` expression children of a node, found in one walk: rnix's accessors
/// (`lhs`, `rhs`, `argument`, ...) each walk the children from the first again.
fn exprs<const N: usize>(node: &rnix::SyntaxNode) -> [Option<ast::Expr>; N] {
    let mut out = [const { None }; N];
    for (slot, e) in out
        .iter_mut()
        .zip(node.children().filter_map(ast::Expr::cast))
    {
        *slot = Some(e);
    }
    out
}

/// Whether a set is `rec { }`. Read from the green tree up to the `{`: rnix's
/// `rec_token` allocates a cursor for every token and trivia of the set.
fn is_rec(a: &ast::AttrSet) -> bool {
    use rnix::SyntaxKind::{TOKEN_L_BRACE, TOKEN_REC};
    let raw = |k: rnix::SyntaxKind| rowan::SyntaxKind(k as u16);
    for child in a.syntax().green().children() {
        if let rowan::NodeOrToken::Token(t) = child {
            if t.kind() == raw(TOKEN_REC) {
                return true;
            }
            if t.kind() == raw(TOKEN_L_BRACE) {
                return false;
            }
        }
    }
    false
}

/// The first child of `node` that is a `P` (a binding's or a selection's attribute
/// path, a lambda's parameter) and its first `N` expression children, found in one
/// walk: rnix's accessors (`attrpath`, `value`, `expr`, `default_expr`, `param`,
/// `body`) each walk the children from the first again.
fn parts<P: AstNode<Language = rnix::NixLanguage>, const N: usize>(
    node: &rnix::SyntaxNode,
) -> (Option<P>, [Option<ast::Expr>; N]) {
    let mut part = None;
    let mut out = [const { None }; N];
    let mut found = 0;
    for child in node.children() {
        if part.is_none() {
            if let Some(p) = P::cast(child.clone()) {
                part = Some(p);
                continue;
            }
        }
        if found < N {
            if let Some(e) = ast::Expr::cast(child) {
                out[found] = Some(e);
                found += 1;
            }
        }
        if part.is_some() && found == N {
            break;
        }
    }
    (part, out)
}

/// A selection's set, path and `or` default (see `parts`).
fn select_parts(s: &ast::Select) -> (Option<ast::Expr>, Option<ast::Attrpath>, Option<ast::Expr>) {
    let (path, [set, default]) = parts(s.syntax());
    (set, path, default)
}

/// Whether a pattern ends in `...`. Read from the green tree: rnix's
/// `ellipsis_token` allocates a cursor for every token of the pattern.
fn has_ellipsis(p: &ast::Pattern) -> bool {
    let ellipsis = rowan::SyntaxKind(rnix::SyntaxKind::TOKEN_ELLIPSIS as u16);
    p.syntax()
        .green()
        .children()
        .any(|c| matches!(c, rowan::NodeOrToken::Token(t) if t.kind() == ellipsis))
}

/// `e` without the parentheses around it.
fn strip_parens(mut e: ast::Expr) -> ast::Expr {
    while let ast::Expr::Paren(p) = &e {
        match p.expr() {
            Some(inner) => e = inner,
            None => break,
        }
    }
    e
}

/// The name of an attribute written without interpolation (`a`, `"a"`, `${"a"}`).
fn static_attr_sym(a: &ast::Attr) -> Option<Symbol> {
    match a {
        ast::Attr::Ident(i) => Some(ident_sym(i)),
        ast::Attr::Str(s) => literal_str(s).map(|n| Symbol::intern(&n)),
        ast::Attr::Dynamic(d) => match d.expr() {
            Some(ast::Expr::Str(s)) => literal_str(&s).map(|n| Symbol::intern(&n)),
            _ => None,
        },
    }
}

/// Whether `static_attr_sym` has an answer, without unescaping or interning.
fn is_static_attr(a: &ast::Attr) -> bool {
    match a {
        ast::Attr::Ident(_) => true,
        ast::Attr::Str(s) => is_literal_str(s),
        ast::Attr::Dynamic(d) => matches!(d.expr(), Some(ast::Expr::Str(s)) if is_literal_str(&s)),
    }
}

/// A string with no `${}` in it.
fn is_literal_str(s: &ast::Str) -> bool {
    !s.syntax()
        .children()
        .any(|c| c.kind() == rnix::SyntaxKind::NODE_INTERPOL)
}

/// The value of a `"..."` string that is one piece of text with no escapes (most
/// are), read straight from its token: `normalized_parts` walks the string twice and
/// unescapes it character by character.
fn plain_str(s: &ast::Str) -> Option<String> {
    use rnix::SyntaxKind::TOKEN_STRING_CONTENT;
    use rowan::NodeOrToken::Token;
    let node = s.syntax();
    let mut kids = node.green().children();
    let (Some(Token(open)), Some(Token(body)), Some(Token(_)), None) =
        (kids.next(), kids.next(), kids.next(), kids.next())
    else {
        return None;
    };
    let text = body.text();
    let plain = open.text() == "\""
        && body.kind() == rowan::SyntaxKind(TOKEN_STRING_CONTENT as u16)
        && !text.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\0'));
    plain.then(|| text.to_owned())
}

fn literal_str(s: &ast::Str) -> Option<String> {
    if let Some(text) = plain_str(s) {
        return Some(text);
    }
    let mut out = String::new();
    for p in s.normalized_parts() {
        match p {
            InterpolPart::Literal(l) => out.push_str(&l),
            InterpolPart::Interpolation(_) => return None,
        }
    }
    Some(out)
}
