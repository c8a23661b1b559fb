//! Evaluating a file or expression the way `nix-instantiate --eval` does: which sources
//! the command line names, calling a function result with the `--arg`/`--argstr`
//! values, and selecting `-A` attribute paths. Shared by `tvix eval`, the REPL and
//! anything else that starts an evaluation from user input.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::builtins::{BuiltinConfig, Registry};
use crate::compiler::{CompileOptions, Lints};
use crate::errors::{ErrorKind, EvalError, Location};
use crate::io::EvalIO;
use crate::observer::Observer;
use crate::symbol::Symbol;
use crate::value::{Attrs, NixString, Value};
use crate::vm::Vm;
use crate::Evaluator;

/// The evaluator settings that a command line gives (`-I`, experimental features,
/// lints, call depth), so that `tvix eval`, `tvix repl` and any later front end set
/// up their evaluator the same way.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// `-I [PREFIX=]PATH` entries, searched before those of `NIX_PATH`.
    pub include: Vec<String>,
    pub experimental_features: Vec<String>,
    pub lints: Lints,
    /// Thunks exactly where C++ Nix makes them (see `CompileOptions::cpp_thunks`).
    pub cpp_thunks: bool,
    /// Most nested calls before evaluation stops with an error (default: the VM's).
    pub max_call_depth: Option<usize>,
}

impl Setup {
    /// An evaluator over `io`, with relative `-I` paths resolved against `cwd` and the
    /// builtins that `extra` adds.
    pub fn evaluator(
        &self,
        io: Rc<dyn EvalIO>,
        cwd: &Path,
        extra: impl FnOnce(&mut Registry),
    ) -> Evaluator {
        let mut cfg = BuiltinConfig::from_search_path(&self.include, cwd);
        cfg.experimental_features = self.experimental_features.clone();
        let mut ev = Evaluator::new(io, &cfg, extra);
        ev.state.compile_options = CompileOptions {
            lints: self.lints,
            cpp_thunks: self.cpp_thunks,
        };
        if let Some(d) = self.max_call_depth {
            ev.limits.max_depth = d;
        }
        ev
    }
}

/// One source to evaluate: its name in messages, its text and where relative paths in
/// it resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub text: String,
    pub dir: PathBuf,
}

/// The sources of the command line: with `--expr` each item is an expression;
/// otherwise each is a file (a directory means its `default.nix`, `-` is stdin), and
/// no item at all means `./default.nix`. Files are read through the evaluator's EvalIO.
pub fn load_sources(
    ev: &Evaluator,
    items: &[String],
    exprs: bool,
    cwd: &Path,
) -> Result<Vec<Source>, EvalError> {
    if exprs {
        return Ok(items
            .iter()
            .map(|e| Source {
                name: "«string»".to_string(),
                text: e.clone(),
                dir: cwd.to_path_buf(),
            })
            .collect());
    }
    let default = ["default.nix".to_string()];
    let items = if items.is_empty() {
        &default[..]
    } else {
        items
    };
    items.iter().map(|f| load_file(ev, f, cwd)).collect()
}

fn load_file(ev: &Evaluator, f: &str, cwd: &Path) -> Result<Source, EvalError> {
    if f == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| other(format!("reading standard input: {e}")))?;
        return Ok(Source {
            name: "«stdin»".to_string(),
            text: crate::source_bytes::decode(&bytes).into_owned(),
            dir: cwd.to_path_buf(),
        });
    }
    let path = crate::io::resolve_expr_path(&*ev.state.io, &cwd.join(f))
        .map_err(|e| EvalError::new(ErrorKind::Io(e), None))?;
    let bytes = ev
        .state
        .io
        .read_file(&path)
        .map_err(|e| other(format!("getting status of '{}': {e}", path.display())))?;
    Ok(Source {
        name: path.to_string_lossy().into_owned(),
        text: crate::source_bytes::decode(&bytes).into_owned(),
        dir: path.parent().unwrap_or(Path::new("/")).to_path_buf(),
    })
}

/// A value given on the command line for a function argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoArg {
    /// `--arg NAME EXPR`: a Nix expression, evaluated lazily.
    Expr(String),
    /// `--argstr NAME STRING`: a string as it is.
    Str(String),
}

/// The attribute set of auto-call arguments; expressions are compiled now (so syntax
/// errors show before evaluation) and evaluated only if the function uses them.
pub fn auto_args(
    ev: &Evaluator,
    args: &[(String, AutoArg)],
    cwd: &Path,
) -> Result<Value, EvalError> {
    let mut entries = Vec::with_capacity(args.len());
    for (name, arg) in args {
        let v = match arg {
            AutoArg::Expr(e) => {
                let compiled = ev.compile("«string»", e, cwd)?;
                ev.state.file_thunk(&compiled)
            }
            AutoArg::Str(s) => Value::String(NixString::from(s.as_str())),
        };
        entries.push((Symbol::intern(name), v));
    }
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

/// nix-instantiate's auto-call: a set with `__functor` is called with itself first; a
/// function taking a set of named arguments is called with the auto-call values it asks
/// for (all of them if it has `...`), and one it asks for that has neither a value nor a
/// default is an error; anything else is left as it is.
pub fn auto_call<O: Observer>(
    vm: &mut Vm<'_, O>,
    v: Value,
    auto: &Value,
) -> Result<Value, EvalError> {
    let v = vm.force(v)?;
    if let Value::Attrs(a) = &v {
        if let Some(f) = a.get(crate::builtins::sym::functor()) {
            let inner = vm.call(f.clone(), v.clone())?;
            return auto_call(vm, inner, auto);
        }
    }
    let Value::Closure(c) = &v else { return Ok(v) };
    let Some(formals) = c.proto.lambda.as_ref().and_then(|l| l.formals.as_ref()) else {
        return Ok(v);
    };
    let Value::Attrs(all) = auto else {
        return Ok(v);
    };
    if !formals.ellipsis {
        let missing = formals
            .entries
            .iter()
            .zip(&formals.has_default)
            .find(|((name, _), default)| !**default && all.get(*name).is_none());
        if let Some(((name, span), _)) = missing {
            return Err(EvalError::new(
                ErrorKind::other(format!(
                    "cannot evaluate a function that has an argument without a value ('{}')\n\
                     Nix attempted to evaluate a function as a top level expression; in this \
                     case it must have its arguments supplied either by default values, or \
                     passed explicitly with '--arg' or '--argstr'",
                    name.as_str()
                )),
                span.map(|span| Location {
                    file: c.proto.file.clone(),
                    span,
                }),
            ));
        }
    }
    let picked: Vec<_> = all
        .iter()
        .filter(|(k, _)| formals.ellipsis || formals.entries.iter().any(|(s, _)| s == k))
        .map(|(k, v)| (k, v.clone()))
        .collect();
    vm.call(v.clone(), Value::attrs(Attrs::from_sorted(picked)))
}

/// Follows a `-A` path (`a.b.0.c`: attribute names and list indices) as nix-instantiate
/// does: each value is auto-called before an attribute or element is taken from it.
pub fn select_attr_path<O: Observer>(
    vm: &mut Vm<'_, O>,
    mut v: Value,
    path: &str,
    auto: &Value,
) -> Result<Value, EvalError> {
    for part in path.split('.').filter(|p| !p.is_empty()) {
        v = auto_call(vm, v, auto)?;
        v = match &v {
            Value::Attrs(a) => match a.get(Symbol::intern(part)) {
                Some(x) => vm.force(x.clone())?,
                None => {
                    return Err(other(format!(
                        "attribute '{part}' in selection path '{path}' not found"
                    )))
                }
            },
            Value::List(l) => match part.parse::<usize>().ok().and_then(|i| l.get(i)) {
                Some(x) => vm.force(x.clone())?,
                None => {
                    return Err(other(format!(
                        "list index '{part}' in selection path '{path}' is out of range"
                    )))
                }
            },
            v => {
                return Err(other(format!(
                "the expression selected by the selection path '{path}' should be a set but is {}",
                v.type_name()
            )))
            }
        };
    }
    Ok(v)
}

/// The value nix-instantiate prints for one `-A` path (`""`: the whole value): the path
/// selected from the root, then the result auto-called only if there are auto-call
/// values (`--arg`, `--argstr`); without them a function prints as `<LAMBDA>`.
pub fn evaluate<O: Observer>(
    vm: &mut Vm<'_, O>,
    root: Value,
    auto: &Value,
    attr_path: &str,
) -> Result<Value, EvalError> {
    let v = select_attr_path(vm, root, attr_path, auto)?;
    let v = vm.force(v)?;
    match auto {
        Value::Attrs(a) if !a.is_empty() => auto_call(vm, v, auto),
        _ => Ok(v),
    }
}

fn other(msg: String) -> EvalError {
    EvalError::new(ErrorKind::other(msg), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::MemoryIO;
    use crate::NoObserver;
    use std::rc::Rc;

    fn evaluator() -> Evaluator {
        let io = MemoryIO::default()
            .with_file(
                "/w/default.nix",
                "{ a ? 1, b }: { sum = a + b; l = [ { x = b; } ]; f = { c }: c; }",
            )
            .with_file("/w/sub/default.nix", "42");
        Evaluator::new(Rc::new(io), &crate::BuiltinConfig::default(), |_| {})
    }

    fn run(args: &[(&str, AutoArg)], path: &str) -> Result<String, EvalError> {
        let mut ev = evaluator();
        let cwd = Path::new("/w");
        let src = load_sources(&ev, &[], false, cwd)?.remove(0);
        assert_eq!(src.name, "/w/default.nix");
        let args: Vec<_> = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let auto = auto_args(&ev, &args, cwd)?;
        let compiled = ev.compile(&src.name, &src.text, &src.dir)?;
        let root = ev.state.file_thunk(&compiled);
        let mut obs = NoObserver;
        let mut vm = ev.vm(&mut obs);
        let v = evaluate(&mut vm, root, &auto, path)?;
        let v = vm.deep_force(v)?;
        Ok(String::from_utf8_lossy(&crate::print::print_value(&v)).into_owned())
    }

    #[test]
    fn auto_calls_with_args_and_selects_paths() {
        let b = ("b", AutoArg::Expr("2 * 5".into()));
        assert_eq!(run(std::slice::from_ref(&b), "sum").unwrap(), "11");
        assert_eq!(run(std::slice::from_ref(&b), "l.0.x").unwrap(), "10");
        // A selected function is auto-called too; unused arguments are left out.
        let c = ("c", AutoArg::Str("s".into()));
        assert_eq!(run(&[b.clone(), c], "f").unwrap(), "\"s\"");
    }

    #[test]
    fn without_auto_args_a_function_is_printed_not_called() {
        // As nix-instantiate --eval: the root is a function, left alone...
        assert_eq!(run(&[], "").unwrap(), "<LAMBDA>");
        // ...but a path is selected through it, each step auto-called, which needs
        // every argument without a default.
        let e = run(&[], "sum").unwrap_err();
        assert!(e
            .to_string()
            .contains("cannot evaluate a function that has an argument without a value ('b')"));
        let (line, col) = e.location.expect("at the formal").line_col();
        assert_eq!((line, col), (1, 10));
        let b = ("b", AutoArg::Expr("1".into()));
        // The selected function itself is only called when there are auto-call values.
        let e = run(std::slice::from_ref(&b), "f").unwrap_err();
        assert!(e.to_string().contains("('c')"));
    }

    #[test]
    fn a_functor_set_is_auto_called_through_its_functor() {
        let io = MemoryIO::default().with_file(
            "/w/default.nix",
            "{ __functor = self: { a ? 1, n }: a + n + self.k; k = 100; }",
        );
        let mut ev = Evaluator::new(Rc::new(io), &crate::BuiltinConfig::default(), |_| {});
        let cwd = Path::new("/w");
        let src = load_sources(&ev, &[], false, cwd).unwrap().remove(0);
        let n = [("n".to_string(), AutoArg::Expr("20".into()))];
        let auto = auto_args(&ev, &n, cwd).unwrap();
        let compiled = ev.compile(&src.name, &src.text, &src.dir).unwrap();
        let root = ev.state.file_thunk(&compiled);
        let mut obs = NoObserver;
        let mut vm = ev.vm(&mut obs);
        let v = evaluate(&mut vm, root, &auto, "").unwrap();
        assert!(matches!(v, Value::Int(121)));
    }

    #[test]
    fn selection_errors_name_the_path() {
        let b = ("b", AutoArg::Expr("1".into()));
        let e = run(std::slice::from_ref(&b), "nope").unwrap_err();
        assert!(e
            .to_string()
            .contains("attribute 'nope' in selection path 'nope'"));
        let e = run(std::slice::from_ref(&b), "l.3").unwrap_err();
        assert!(e.to_string().contains("list index '3'"));
        let e = run(&[b], "sum.x").unwrap_err();
        assert!(e.to_string().contains("should be a set but is int"));
    }

    #[test]
    fn sources_from_files_directories_and_expressions() {
        let ev = evaluator();
        let cwd = Path::new("/w");
        let s = load_sources(&ev, &["sub".into()], false, cwd).unwrap();
        assert_eq!(s[0].name, "/w/sub/default.nix");
        assert_eq!(s[0].dir, PathBuf::from("/w/sub"));
        let e = load_sources(&ev, &["missing.nix".into()], false, cwd).unwrap_err();
        assert!(e.to_string().contains("getting status of '/w/missing.nix'"));
        let s = load_sources(&ev, &["1".into(), "2".into()], true, cwd).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].text, "2");
    }
}
