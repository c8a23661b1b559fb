//! `tvix eval`: evaluate a Nix expression as `nix-instantiate --eval` does, with its flags.

use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

use tvix_eval::compiler::{LintLevel, Lints};
use tvix_eval::entry::{self, AutoArg, Setup};
use tvix_eval::errors::EvalError;
use tvix_eval::value::Value;
use tvix_eval::NoObserver;

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
    #[command(flatten)]
    setup: SetupArgs,
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
}

/// The evaluator flags `tvix eval` and `tvix repl` share (see `entry::Setup`).
#[derive(clap::Args)]
pub struct SetupArgs {
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
    pub show_trace: bool,
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
    /// Experimental features to enable (space-separated; may be repeated).
    #[arg(long = "extra-experimental-features")]
    extra_experimental_features: Vec<String>,
}

impl SetupArgs {
    pub fn setup(&self) -> Setup {
        Setup {
            include: self.include.clone(),
            experimental_features: self
                .extra_experimental_features
                .iter()
                .flat_map(|f| f.split_whitespace().map(str::to_string))
                .collect(),
            lints: Lints {
                url_literals: lint_level(self.lint_url_literals),
                short_path_literals: lint_level(self.lint_short_path_literals),
                absolute_path_literals: lint_level(self.lint_absolute_path_literals),
            },
            max_call_depth: self.max_call_depth.map(|d| d as usize),
            cpp_thunks: false,
        }
    }

    /// `--arg` and `--argstr`, in order.
    pub fn auto_args(&self) -> Vec<(String, AutoArg)> {
        self.arg
            .chunks(2)
            .map(|p| (p[0].clone(), AutoArg::Expr(p[1].clone())))
            .chain(
                self.argstr
                    .chunks(2)
                    .map(|p| (p[0].clone(), AutoArg::Str(p[1].clone()))),
            )
            .collect()
    }
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

pub fn run(args: Args) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    // The process exits after this: freeing the evaluation's values (and breaking
    // their cycles) would only give back memory that exiting gives back anyway.
    let mut setup = args.setup.setup();
    // A plain print of a value not forced deeply shows which parts are thunks
    // (`<CODE>`): those must be the ones C++ Nix makes.
    setup.cpp_thunks = !(args.strict || args.json || args.xml);
    let mut ev =
        std::mem::ManuallyDrop::new(setup.evaluator(Rc::new(tvix_eval::io::StdIO), &cwd, |_| {}));
    let show_trace = args.setup.show_trace;
    let report = |e: &EvalError| {
        eprint!("{}", e.render(show_trace));
        1
    };

    let sources = match entry::load_sources(&ev, &args.files, args.expr, &cwd) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e)),
    };
    let auto = match entry::auto_args(&ev, &args.setup.auto_args(), &cwd) {
        Ok(a) => a,
        Err(e) => return Ok(report(&e)),
    };

    let stdout = std::io::stdout();
    for src in sources {
        let compiled = match ev.compile(&src.name, &src.text, &src.dir) {
            Ok(c) => c,
            Err(e) => return Ok(report(&e)),
        };
        if args.parse {
            // Like nix-instantiate --parse: syntax and name resolution, no evaluation.
            continue;
        }
        let root = ev.state.file_thunk(&compiled);
        let mut obs = NoObserver;
        let mut vm = ev.vm(&mut obs);
        // As nix-instantiate: each `-A` path is taken from the root and printed on its own.
        let whole = [String::new()];
        let paths = if args.attr.is_empty() {
            &whole[..]
        } else {
            &args.attr[..]
        };
        for path in paths {
            let result = (|| -> Result<Vec<u8>, EvalError> {
                let v = entry::evaluate(&mut vm, root.clone(), &auto, path)?;
                if args.json {
                    let to_json = vm.state.global("__toJSON").expect("toJSON is a builtin");
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
    }
    Ok(0)
}
