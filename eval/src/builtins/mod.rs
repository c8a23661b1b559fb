//! Builtins, in modules grouped by kind. Each group has a `register` function; the one
//! list in [`all_groups`] is the only place that names them, so a new group (for example
//! the builder's fetchers) is added without touching the others. Users of the crate hand
//! in their own builtins the same way (`Registry`).

pub mod arith;
pub mod attrs;
mod closure_keys;
pub mod compare;
pub mod context;
pub mod control;
pub mod derivation;
pub mod fetch_args;
pub mod flake_ref;
pub mod hash;
pub mod io;
pub mod json;
pub mod lists;
pub mod quick_apply;
pub mod regex;
pub mod store_paths;
pub mod strings;
pub mod versions;
pub mod xml;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::errors::R;
use crate::generators::{Co, GenFuture, Machine};
use crate::state::EvalState;
use crate::symbol::Symbol;
use crate::value::{Attrs, BuiltinApp, Thunk, Value};

/// A plain builtin gets its arguments where they lie on the VM's stack (no copy); it may
/// take them out.
pub type PlainFn = Rc<dyn Fn(&mut EvalState, &mut [Value]) -> R<Value>>;
pub type GenFn = Rc<dyn Fn(Co, Vec<Value>) -> GenFuture>;
pub type MachineFn = fn(&mut [Value]) -> Box<dyn Machine>;

pub enum BuiltinImpl {
    /// Runs at once; the arguments marked strict arrive forced.
    Plain(PlainFn),
    /// Suspends to force values or call functions.
    Gen(GenFn),
    /// A loop the VM steps on its own stack (arguments arrive unforced); started
    /// straight from the call, without a generator.
    Machine(MachineFn),
}

pub struct BuiltinDef {
    pub name: &'static str,
    pub arity: usize,
    /// Bit i set: argument i is forced before a plain builtin runs.
    pub strict: u32,
    pub imp: BuiltinImpl,
    /// Its answer when the arguments are already plain values of the common kinds
    /// (`None` otherwise): spares a generator builtin's generator for calls such as
    /// `toString 3`, and lets a lazy `f x` be computed at once (`Op::SpecCall`). So
    /// it must be pure and cheap.
    pub quick: Option<QuickFn>,
    /// For a plain builtin, the check C++ Nix makes of argument 0 as it forces it
    /// (its type; for a hash, the algorithm), before any later argument is forced. The
    /// VM runs it before it forces a later strict argument (`builtin_demands`; such
    /// arguments are not computed early, see `builtin_forces`), so that when both fail
    /// the error is the first's; the body still checks everything itself.
    pub check_first: Option<CheckFn>,
}

pub type CheckFn = fn(&Value) -> R<()>;

pub type QuickFn = fn(&[Value]) -> Option<Value>;

/// Collects builtins and constants.
#[derive(Default)]
pub struct Registry {
    pub defs: Vec<BuiltinDef>,
    pub values: Vec<(&'static str, Value)>,
}

impl Registry {
    /// A builtin whose arguments are all forced first.
    pub fn plain(
        &mut self,
        name: &'static str,
        arity: usize,
        f: impl Fn(&mut EvalState, &mut [Value]) -> R<Value> + 'static,
    ) {
        self.plain_mask(name, arity, (1 << arity) - 1, f)
    }

    pub fn plain_mask(
        &mut self,
        name: &'static str,
        arity: usize,
        strict: u32,
        f: impl Fn(&mut EvalState, &mut [Value]) -> R<Value> + 'static,
    ) {
        self.defs.push(BuiltinDef {
            name,
            arity,
            strict,
            imp: BuiltinImpl::Plain(Rc::new(f)),
            quick: None,
            check_first: None,
        });
    }

    /// A builtin that runs as a generator (arguments arrive unforced).
    pub fn gen(&mut self, name: &'static str, arity: usize, f: fn(Co, Vec<Value>) -> GenFuture) {
        self.defs.push(BuiltinDef {
            name,
            arity,
            strict: 0,
            imp: BuiltinImpl::Gen(Rc::new(f)),
            quick: None,
            check_first: None,
        });
    }

    /// A builtin that runs as a machine (arguments arrive unforced).
    pub fn machine(&mut self, name: &'static str, arity: usize, f: MachineFn) {
        self.defs.push(BuiltinDef {
            name,
            arity,
            strict: 0,
            imp: BuiltinImpl::Machine(f),
            quick: None,
            check_first: None,
        });
    }

    /// A plain builtin whose first argument is checked before the others are forced
    /// (see `check_first`).
    pub fn plain_checked(
        &mut self,
        name: &'static str,
        arity: usize,
        check_first: CheckFn,
        f: impl Fn(&mut EvalState, &mut [Value]) -> R<Value> + 'static,
    ) {
        self.plain(name, arity, f);
        self.defs.last_mut().expect("just pushed").check_first = Some(check_first);
    }

    /// A plain builtin with a quick answer for plain arguments (see `quick`).
    pub fn plain_quick(
        &mut self,
        name: &'static str,
        arity: usize,
        f: impl Fn(&mut EvalState, &mut [Value]) -> R<Value> + 'static,
        quick: QuickFn,
    ) {
        self.plain(name, arity, f);
        self.defs.last_mut().expect("just pushed").quick = Some(quick);
    }

    /// A machine builtin with a quick answer for plain arguments (see `quick`).
    pub fn machine_quick(
        &mut self,
        name: &'static str,
        arity: usize,
        f: MachineFn,
        quick: QuickFn,
    ) {
        self.machine(name, arity, f);
        self.defs.last_mut().expect("just pushed").quick = Some(quick);
    }

    /// A generator builtin with a quick answer for plain arguments (see `quick`).
    pub fn gen_quick(
        &mut self,
        name: &'static str,
        arity: usize,
        f: fn(Co, Vec<Value>) -> GenFuture,
        quick: QuickFn,
    ) {
        self.gen(name, arity, f);
        self.defs.last_mut().expect("just pushed").quick = Some(quick);
    }

    pub fn value(&mut self, name: &'static str, v: Value) {
        self.values.push((name, v));
    }
}

/// Settings that some builtins report.
#[derive(Clone, Debug)]
pub struct BuiltinConfig {
    pub current_system: String,
    pub store_dir: String,
    /// `builtins.nixPath` entries as (prefix, path).
    pub nix_path: Vec<(String, String)>,
    /// Experimental features turned on (e.g. `parse-toml-timestamps`).
    pub experimental_features: Vec<String>,
}

impl Default for BuiltinConfig {
    fn default() -> Self {
        BuiltinConfig {
            current_system: "x86_64-linux".into(),
            store_dir: "/nix/store".into(),
            nix_path: Vec::new(),
            experimental_features: Vec::new(),
        }
    }
}

/// The one registration list.
pub fn all_groups(r: &mut Registry, cfg: &BuiltinConfig) {
    arith::register(r);
    attrs::register(r);
    compare::register(r);
    context::register(r);
    control::register(r);
    derivation::register(r);
    flake_ref::register(r);
    hash::register(r);
    io::register(r, cfg);
    json::register(r);
    json::register_toml(
        r,
        cfg.experimental_features
            .iter()
            .any(|f| f == "parse-toml-timestamps"),
    );
    lists::register(r);
    regex::register(r);
    store_paths::register(r);
    strings::register(r);
    versions::register(r);
    xml::register(r);
}

/// Names available without the `builtins.` prefix (besides `__name` for every builtin).
const GLOBAL_NAMES: &[&str] = &[
    "abort",
    "baseNameOf",
    "break",
    "derivation",
    "derivationStrict",
    "dirOf",
    "false",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "null",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
    "true",
];

/// The global table: `builtins`, the bare names and `__name` for every builtin.
pub struct Globals {
    /// To be filled with the compiled `derivation` wrapper.
    pub derivation: Thunk,
    /// `builtins.builtins`: the set refers to itself through this thunk, a cycle the
    /// owner breaks when it is done (see `EvalState::drop`).
    pub builtins_self: Thunk,
    pub values: Vec<Value>,
    pub index: HashMap<Symbol, u32>,
    pub names: Arc<[Symbol]>,
}

pub fn make_globals(r: Registry) -> Globals {
    let mut entries: Vec<(Symbol, Value)> = Vec::new();
    for def in r.defs {
        let name = def.name;
        let v = Value::Builtin(Rc::new(BuiltinApp {
            def: Rc::new(def),
            args: Default::default(),
        }));
        entries.push((Symbol::intern(name), v));
    }
    for (name, v) in r.values {
        entries.push((Symbol::intern(name), v));
    }
    // `derivation` is Nix code (see derivation.rs), compiled once globals exist.
    let drv_cell = Thunk::blackhole();
    entries.push((Symbol::intern("derivation"), Value::Thunk(drv_cell.clone())));
    // `builtins.builtins` is the set itself.
    let self_ref = Thunk::blackhole();
    entries.push((Symbol::intern("builtins"), Value::Thunk(self_ref.clone())));
    let set = Value::attrs(Attrs::from_unsorted(entries.clone()));
    *self_ref.borrow_mut() = crate::value::ThunkState::Evaluated(set.clone());

    let mut values = Vec::new();
    let mut index = HashMap::new();
    let mut names = Vec::new();
    let mut add = |name: Symbol, v: Value| {
        if index.contains_key(&name) {
            return;
        }
        index.insert(name, values.len() as u32);
        names.push(name);
        values.push(v);
    };
    add(Symbol::intern("builtins"), set);
    for (name, v) in &entries {
        let s = name.as_str();
        if GLOBAL_NAMES.contains(&s) {
            add(*name, v.clone());
        }
        if !matches!(s, "true" | "false" | "null" | "builtins") {
            add(Symbol::intern(&format!("__{s}")), v.clone());
        }
    }
    Globals {
        values,
        index,
        names: names.into(),
        derivation: drv_cell,
        builtins_self: self_ref,
    }
}

/// Frequently used symbols.
pub mod sym {
    use crate::symbol::Symbol;
    use std::sync::OnceLock;

    macro_rules! syms {
        ($($f:ident = $s:expr;)*) => {$(
            pub fn $f() -> Symbol {
                static S: OnceLock<Symbol> = OnceLock::new();
                *S.get_or_init(|| Symbol::intern($s))
            }
        )*};
    }

    syms! {
        functor = "__functor";
        to_string = "__toString";
        out_path = "outPath";
        type_ = "type";
        name = "name";
        value = "value";
        key = "key";
        right = "right";
        wrong = "wrong";
        success = "success";
        prefix = "prefix";
        path = "path";
        drv_path = "drvPath";
    }
}

// ---- helpers shared by the groups ----

pub fn int(v: &Value) -> R<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(crate::generators::type_error("an integer", other)),
    }
}

pub fn list(v: &Value) -> R<&crate::value::NixList> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(crate::generators::type_error("a list", other)),
    }
}

/// `list` of a value that is not kept: the list is moved out, its count untouched.
pub fn into_list(v: Value) -> R<crate::value::NixList> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(crate::generators::type_error("a list", &other)),
    }
}

/// A function (a lambda, builtin or functor set), as the builtins that take one check
/// it (C++ Nix's `forceFunction`): before their other arguments are forced.
pub fn function(v: &Value) -> R<()> {
    if v.is_function() {
        Ok(())
    } else {
        Err(crate::generators::type_error("a function", v))
    }
}

/// `check_first`s of the builtins whose first argument is of one type.
pub fn int_first(v: &Value) -> R<()> {
    int(v).map(drop)
}

pub fn string_first(v: &Value) -> R<()> {
    string(v).map(drop)
}

pub fn attrs_first(v: &Value) -> R<()> {
    attrs(v).map(drop)
}

pub fn attrs(v: &Value) -> R<&Attrs> {
    match v {
        Value::Attrs(a) => Ok(a),
        other => Err(crate::generators::type_error("a set", other)),
    }
}

pub fn string(v: &Value) -> R<&crate::value::NixString> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(crate::generators::type_error("a string", other)),
    }
}

pub fn boolean(v: &Value) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(crate::generators::type_error("a Boolean", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_builtins_are_named_for_the_compiler() {
        let mut r = Registry::default();
        all_groups(&mut r, &BuiltinConfig::default());
        let mut quick: Vec<_> = r
            .defs
            .iter()
            .filter(|d| d.quick.is_some())
            .map(|d| (d.name, d.arity))
            .collect();
        quick.sort_unstable();
        assert_eq!(quick, crate::compiler::QUICK_BUILTINS);
    }

    #[test]
    fn strict_builtins_are_named_for_the_compiler() {
        let mut r = Registry::default();
        all_groups(&mut r, &BuiltinConfig::default());
        let mut strict: Vec<_> = r
            .defs
            .iter()
            .filter(|d| matches!(d.imp, BuiltinImpl::Plain(_)) && d.strict != 0)
            .map(|d| (d.name, d.arity, d.strict))
            .collect();
        strict.sort_unstable();
        assert_eq!(strict, crate::compiler::STRICT_BUILTINS);
    }

    #[test]
    fn builtins_checking_their_first_argument_are_named_for_the_compiler() {
        let mut r = Registry::default();
        all_groups(&mut r, &BuiltinConfig::default());
        let mut checked: Vec<_> = r
            .defs
            .iter()
            .filter(|d| d.check_first.is_some())
            .map(|d| d.name)
            .collect();
        checked.sort_unstable();
        assert_eq!(checked, crate::compiler::CHECKS_FIRST);
    }
}
