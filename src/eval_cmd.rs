//! `tvix eval`: evaluate a Nix expression as `nix-instantiate --eval` does, with its flags.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use tvix_eval::builtins::BuiltinConfig;
use tvix_eval::compiler::{LintLevel, Lints};
use tvix_eval::errors::EvalError;
use tvix_eval::value::{Attrs, NixString, Value};
use tvix_eval::{Evaluator, NoObserver};

/// Repeating a flag is allowed, as nix-instantiate allows it.
#[derive(clap::Args)]
#[command(args_override_self = true)]
pub struct Args {
    /// File to evaluate (default: ./default.nix); with --expr, the expressions.
    files: Vec<String>,
    /// Evaluate the expression given on the command line instead of a file.
    #[arg(short = 'E', long = "expr")]
    expr: bool,
    /// Force the result deeply before printing.
    #[arg(long)]
    strict: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Print the result as XML.
    #[arg(long)]
    xml: bool,
    /// Leave source positions out of XML output.
    #[arg(long = "no-location")]
    no_location: bool,
    /// Select an attribute of the result (dot-separated path).
    #[arg(short = 'A', long = "attr")]
    attr: Vec<String>,
    /// Pass NAME = EXPR to the function the file evaluates to.
    #[arg(long = "arg", num_args = 2, value_names = ["NAME", "EXPR"])]
    arg: Vec<String>,
    /// Pass NAME = STRING to the function the file evaluates to.
    #[arg(long = "argstr", num_args = 2, value_names = ["NAME", "STRING"])]
    argstr: Vec<String>,
    /// Add a search path entry ([PREFIX=]PATH), before those of NIX_PATH.
    #[arg(short = 'I', long = "include")]
    include: Vec<String>,
    /// Show the chain of Nix frames that led to an error.
    #[arg(long = "show-trace")]
    show_trace: bool,
    /// Only parse; exit 1 with the location of a syntax error.
    #[arg(long)]
    parse: bool,
    /// Accepted for compatibility with nix-instantiate; evaluation is what this does.
    #[arg(long, hide = true)]
    eval: bool,
    /// Do not show the chain of frames (the default).
    #[arg(long = "no-show-trace")]
    no_show_trace: bool,
    /// Accepted for compatibility (evaluation may always read the environment).
    #[arg(long)]
    impure: bool,
    /// Most nested calls before evaluation stops with an error.
    #[arg(long = "max-call-depth")]
    max_call_depth: Option<u32>,
    /// URL literals such as `http://x`.
    #[arg(long = "lint-url-literals", value_enum, default_value = "off")]
    lint_url_literals: Lint,
    /// Relative path literals without `./`.
    #[arg(long = "lint-short-path-literals", value_enum, default_value = "off")]
    lint_short_path_literals: Lint,
    /// Absolute and `~/` path literals.
    #[arg(
        long = "lint-absolute-path-literals",
        value_enum,
        default_value = "off"
    )]
    lint_absolute_path_literals: Lint,
    /// Accepted for compatibility.
    #[arg(long = "extra-experimental-features")]
    extra_experimental_features: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Lint {
    Off,
    Warn,
    Fatal,
}

fn lint_level(l: Lint) -> LintLevel {
    match l {
        Lint::Off => LintLevel::Off,
        Lint::Warn => LintLevel::Warn,
        Lint::Fatal => LintLevel::Fatal,
    }
}

fn search_path_entry(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((p, path)) => (p.to_string(), path.to_string()),
        None => (String::new(), s.to_string()),
    }
}

fn absolutize(cwd: &Path, p: &str) -> String {
    if p.starts_with('/') || p.contains("://") {
        p.to_string()
    } else {
        cwd.join(p).to_string_lossy().into_owned()
    }
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mut cfg = BuiltinConfig::default();
    for i in &args.include {
        let (p, path) = search_path_entry(i);
        cfg.nix_path.push((p, absolutize(&cwd, &path)));
    }
    if let Ok(np) = std::env::var("NIX_PATH") {
        for e in np.split(':').filter(|e| !e.is_empty()) {
            let (p, path) = search_path_entry(e);
            cfg.nix_path.push((p, absolutize(&cwd, &path)));
        }
    }
    cfg.experimental_features = args
        .extra_experimental_features
        .iter()
        .flat_map(|f| f.split_whitespace().map(str::to_string))
        .collect();
    let mut ev = Evaluator::new(Rc::new(tvix_eval::io::StdIO), &cfg, |_| {});
    ev.state.lints = Lints {
        url_literals: lint_level(args.lint_url_literals),
        short_path_literals: lint_level(args.lint_short_path_literals),
        absolute_path_literals: lint_level(args.lint_absolute_path_literals),
    };
    if let Some(d) = args.max_call_depth {
        ev.limits.max_depth = d as usize;
    }
    let show_trace = args.show_trace;
    let report = |e: &EvalError| {
        eprint!("{}", e.render(show_trace));
        1
    };

    // Sources: (name, text, dir).
    let mut sources = Vec::new();
    if args.expr {
        for e in &args.files {
            sources.push(("«string»".to_string(), e.clone(), cwd.clone()));
        }
    } else {
        let files = if args.files.is_empty() {
            vec!["default.nix".to_string()]
        } else {
            args.files.clone()
        };
        for f in files {
            let path = if f == "-" {
                PathBuf::from("-")
            } else {
                let p = cwd.join(&f);
                if p.is_dir() {
                    p.join("default.nix")
                } else {
                    p
                }
            };
            let text = if f == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
                s
            } else {
                match std::fs::read(&path) {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(e) => {
                        eprintln!("error: getting status of '{}': {e}", path.display());
                        return Ok(1);
                    }
                }
            };
            let dir = if f == "-" {
                cwd.clone()
            } else {
                path.parent().unwrap_or(Path::new("/")).to_path_buf()
            };
            let name = if f == "-" {
                "«stdin»".to_string()
            } else {
                tvix_eval::compiler::canon_path(&path)
                    .to_string_lossy()
                    .into_owned()
            };
            sources.push((name, text, dir));
        }
    }

    // Auto-call arguments.
    let mut auto: Vec<(String, Value)> = Vec::new();
    for pair in args.arg.chunks(2) {
        let c = match ev.compile("«string»", &pair[1], &cwd) {
            Ok(c) => c,
            Err(e) => return Ok(report(&e)),
        };
        auto.push((pair[0].clone(), ev.state.file_thunk(&c)));
    }
    for pair in args.argstr.chunks(2) {
        auto.push((
            pair[0].clone(),
            Value::String(NixString::from(pair[1].as_str())),
        ));
    }
    let auto_attrs = Value::attrs(Attrs::from_unsorted(
        auto.into_iter()
            .map(|(k, v)| (tvix_eval::symbol::Symbol::intern(&k), v))
            .collect(),
    ));

    let stdout = std::io::stdout();
    for (name, text, dir) in sources {
        if args.parse {
            // Like nix-instantiate --parse: syntax and name resolution, no evaluation.
            if let Err(e) = ev.compile(&name, &text, &dir) {
                return Ok(report(&e));
            }
            continue;
        }
        let compiled = match ev.compile(&name, &text, &dir) {
            Ok(c) => c,
            Err(e) => return Ok(report(&e)),
        };
        let root = ev.state.file_thunk(&compiled);
        let mut obs = NoObserver;
        let mut vm = ev.vm(&mut obs);
        let result = (|| -> Result<Vec<u8>, EvalError> {
            let mut v = vm.force(root)?;
            v = auto_call(&mut vm, v, &auto_attrs)?;
            for path in &args.attr {
                for part in path.split('.').filter(|p| !p.is_empty()) {
                    v = match &v {
                        Value::Attrs(a) => match a.get(tvix_eval::symbol::Symbol::intern(part)) {
                            Some(x) => vm.force(x.clone())?,
                            None => {
                                return Err(EvalError::new(
                                    tvix_eval::ErrorKind::other(format!(
                                        "attribute '{part}' in selection path '{path}' not found"
                                    )),
                                    None,
                                ))
                            }
                        },
                        Value::List(l) => match part.parse::<usize>().ok().and_then(|i| l.get(i)) {
                            Some(x) => vm.force(x.clone())?,
                            None => {
                                return Err(EvalError::new(
                                    tvix_eval::ErrorKind::other(format!(
                                        "list index '{part}' in selection path '{path}' is out of range"
                                    )),
                                    None,
                                ))
                            }
                        },
                        other => {
                            return Err(EvalError::new(
                                tvix_eval::ErrorKind::other(format!(
                                    "the expression selected by the selection path '{path}' should be a set but is {}",
                                    other.type_name()
                                )),
                                None,
                            ))
                        }
                    };
                    v = auto_call(&mut vm, v, &auto_attrs)?;
                }
            }
            if args.json {
                let to_json = vm.state.globals[vm.state.global_index
                    [&tvix_eval::symbol::Symbol::intern("__toJSON")]
                    as usize]
                    .clone();
                let s = vm.call(to_json, v)?;
                let Value::String(s) = s else {
                    unreachable!("toJSON returns a string")
                };
                Ok(s.as_bytes().to_vec())
            } else if args.xml {
                let v = vm.deep_force(v)?;
                Ok(tvix_eval::builtins::xml::to_xml(&v, !args.no_location).into_bytes())
            } else {
                let v = if args.strict { vm.deep_force(v)? } else { v };
                Ok(tvix_eval::print::print_value(&v))
            }
        })();
        match result {
            Ok(out) => {
                let mut lock = stdout.lock();
                lock.write_all(&out)?;
                if !args.xml {
                    lock.write_all(b"\n")?;
                }
                lock.flush()?;
            }
            Err(e) => return Ok(report(&e)),
        }
    }
    Ok(0)
}

/// nix-instantiate calls a function result that takes a set of named arguments with
/// the --arg/--argstr values it asks for.
fn auto_call<O: tvix_eval::Observer>(
    vm: &mut tvix_eval::Vm<'_, O>,
    v: Value,
    auto: &Value,
) -> Result<Value, EvalError> {
    let Value::Closure(c) = &v else { return Ok(v) };
    let Some(formals) = c.proto.lambda.as_ref().and_then(|l| l.formals.as_ref()) else {
        return Ok(v);
    };
    let Value::Attrs(all) = auto else {
        return Ok(v);
    };
    let picked: Vec<_> = if formals.ellipsis {
        all.iter().map(|(k, v)| (k, v.clone())).collect()
    } else {
        all.iter()
            .filter(|(k, _)| formals.entries.iter().any(|(s, _)| s == k))
            .map(|(k, v)| (k, v.clone()))
            .collect()
    };
    vm.call(v.clone(), Value::attrs(Attrs::from_sorted(picked)))
}
