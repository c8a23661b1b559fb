//! The read-eval-print session behind `tvix repl`, without the terminal: one line in,
//! what to show out. Names bound at the prompt (`x = expr`, `:l file`) become globals,
//! so later lines resolve them statically like builtins, and a name bound again
//! replaces the earlier one, as in C++ Nix's repl.
//!
//! The evaluator comes set up by `entry::Setup`, and `:l` loads a file as `import`
//! does and auto-calls it as `tvix eval` does (`entry::auto_call`), so the prompt and
//! the command line agree on what a file means.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::entry;
use crate::errors::EvalError;
use crate::state::EvalState;
use crate::symbol::Symbol;
use crate::value::Value;
use crate::{Evaluator, NoObserver};

/// What the terminal should do with a line's outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplOutput {
    /// Text to print (without a trailing newline).
    Print(String),
    /// A rendered error, to print as is.
    Error(String),
    /// Nothing to show (a binding, an empty line).
    Nothing,
    Quit,
}

pub const HELP: &str = "\
The following commands are available:

  <expr>        Evaluate and print expression
  <x> = <expr>  Bind expression to variable
  :l <path>     Load Nix expression and add it to scope
  :p <expr>     Evaluate and print expression recursively
  :t <expr>     Describe result of evaluation
  :?            Print this help
  :q            Exit";

pub struct Repl {
    evaluator: Evaluator,
    /// Relative paths typed at the prompt resolve against this directory.
    cwd: PathBuf,
    show_trace: bool,
    /// The `--arg`/`--argstr` set that `:l` calls a file's function with.
    auto_args: Value,
}

impl Repl {
    pub fn new(evaluator: Evaluator, cwd: PathBuf) -> Repl {
        Repl {
            evaluator,
            cwd,
            show_trace: false,
            auto_args: Value::attrs(crate::value::Attrs::new()),
        }
    }

    /// Arguments for files loaded with `:l` that evaluate to functions (see
    /// `entry::auto_args`).
    pub fn set_auto_args(&mut self, auto_args: Value) {
        self.auto_args = auto_args;
    }

    /// The evaluator behind the prompt.
    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    pub fn set_show_trace(&mut self, on: bool) {
        self.show_trace = on;
    }

    pub fn handle(&mut self, line: &str) -> ReplOutput {
        let line = line.trim();
        let result = if line.is_empty() {
            Ok(ReplOutput::Nothing)
        } else if let Some(command) = line.strip_prefix(':') {
            self.command(command)
        } else if let Some((name, expr)) = split_binding(line) {
            self.bind(name, expr).map(|()| ReplOutput::Nothing)
        } else {
            self.eval(line, false).map(ReplOutput::Print)
        };
        result.unwrap_or_else(|e| ReplOutput::Error(e.render(self.show_trace)))
    }

    fn command(&mut self, command: &str) -> Result<ReplOutput, EvalError> {
        let (name, arg) = command
            .split_once(char::is_whitespace)
            .unwrap_or((command, ""));
        let arg = arg.trim();
        match name {
            "q" | "quit" => Ok(ReplOutput::Quit),
            "?" | "help" => Ok(ReplOutput::Print(HELP.to_string())),
            "p" | "print" => self.eval(arg, true).map(ReplOutput::Print),
            "t" | "type" => {
                let value = self.force(arg)?;
                Ok(ReplOutput::Print(value.type_name().to_string()))
            }
            "l" | "load" => {
                let count = self.load(arg)?;
                Ok(ReplOutput::Print(format!("Added {count} variables.")))
            }
            _ => Ok(ReplOutput::Error(format!(
                "error: unknown command ':{name}' (type :? for help)"
            ))),
        }
    }

    fn compile_thunk(&mut self, expr: &str) -> Result<Value, EvalError> {
        let compiled = self.evaluator.compile("«repl»", expr, &self.cwd)?;
        Ok(self.evaluator.state.file_thunk(&compiled))
    }

    fn force(&mut self, expr: &str) -> Result<Value, EvalError> {
        let thunk = self.compile_thunk(expr)?;
        self.evaluator.vm(&mut NoObserver).force(thunk)
    }

    fn eval(&mut self, expr: &str, deep: bool) -> Result<String, EvalError> {
        let thunk = self.compile_thunk(expr)?;
        let mut observer = NoObserver;
        let mut vm = self.evaluator.vm(&mut observer);
        let value = if deep {
            vm.deep_force(thunk)?
        } else {
            vm.force(thunk)?
        };
        Ok(String::from_utf8_lossy(&crate::print::print_value(&value)).into_owned())
    }

    /// `x = expr`: bound lazily, as a thunk, like a `let`.
    fn bind(&mut self, name: &str, expr: &str) -> Result<(), EvalError> {
        let thunk = self.compile_thunk(expr)?;
        define_global(&mut self.evaluator.state, Symbol::intern(name), thunk);
        Ok(())
    }

    /// `:l file`: the file is imported (a directory means its `default.nix`); if it is
    /// a function of a set, it is called with the auto-call arguments; every attribute
    /// of the result joins the scope.
    fn load(&mut self, file: &str) -> Result<usize, EvalError> {
        let path = self.cwd.join(expand_home(file));
        let state = &mut self.evaluator.state;
        state.last_compile_error = None;
        let value = state.import(&path).map_err(|kind| {
            state
                .last_compile_error
                .take()
                .unwrap_or_else(|| EvalError::new(*kind, None))
        })?;
        let mut observer = NoObserver;
        let mut vm = self.evaluator.vm(&mut observer);
        let value = vm.force(value)?;
        let value = entry::auto_call(&mut vm, value, &self.auto_args)?;
        let Value::Attrs(attrs) = value else {
            return Err(EvalError::new(
                crate::ErrorKind::other(format!(
                    "'{file}' evaluates to {}, but :l needs a set",
                    value.type_name()
                )),
                None,
            ));
        };
        let mut count = 0;
        for (name, value) in attrs.iter() {
            define_global(&mut self.evaluator.state, name, value.clone());
            count += 1;
        }
        Ok(count)
    }
}

/// Binds or rebinds a global name for every later compilation. A rebinding takes a new
/// slot, as C++ Nix does: what was compiled before keeps the value it saw (and the
/// compiler can tell a rebound `builtins` from the builtins, see `compiler`).
fn define_global(state: &mut EvalState, name: Symbol, value: Value) {
    let slot = state.globals.len() as u32;
    state.globals.push(value);
    std::rc::Rc::make_mut(&mut state.global_index).insert(name, slot);
    let mut names: Vec<Symbol> = state.global_names.to_vec();
    names.push(name);
    state.global_names = Arc::from(names);
}

/// `name = rest` where `name` is a plain identifier and `=` is not `==`.
fn split_binding(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = line.split_once('=')?;
    if rest.starts_with('=') {
        return None;
    }
    let name = name.trim();
    let mut chars = name.chars();
    let first = chars.next()?;
    let identifier = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'));
    identifier.then(|| (name, rest.trim()))
}

fn expand_home(file: &str) -> PathBuf {
    match (file.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn repl() -> Repl {
        let io = crate::io::MemoryIO::default()
            .with_file("/work/lib.nix", "{ double = x: x * 2; name = \"lib\"; }")
            .with_file(
                "/work/fn.nix",
                "{ greeting ? \"hi\" }: { inherit greeting; }",
            );
        let evaluator = Evaluator::new(Rc::new(io), &crate::BuiltinConfig::default(), |_| {});
        Repl::new(evaluator, PathBuf::from("/work"))
    }

    fn print(s: &str) -> ReplOutput {
        ReplOutput::Print(s.to_string())
    }

    #[test]
    fn evaluates_and_binds_across_lines() {
        let mut r = repl();
        assert_eq!(r.handle("1 + 2"), print("3"));
        assert_eq!(r.handle("x = 20"), ReplOutput::Nothing);
        assert_eq!(r.handle("y = x + 1"), ReplOutput::Nothing);
        assert_eq!(r.handle("x + y"), print("41"));
        // Rebinding replaces the value for later lines.
        assert_eq!(r.handle("x = 1"), ReplOutput::Nothing);
        assert_eq!(r.handle("x"), print("1"));
        assert_eq!(r.handle("x == 1"), print("true"));
        // What was bound before keeps the value it saw, as in C++ Nix.
        assert_eq!(r.handle("y"), print("21"));
    }

    #[test]
    fn rebound_builtins_are_not_the_builtins() {
        let mut r = repl();
        assert_eq!(r.handle("builtins.seq 1 2"), print("2"));
        assert_eq!(
            r.handle("builtins = { seq = a: b: 42; }"),
            ReplOutput::Nothing
        );
        assert_eq!(r.handle("builtins.seq 1 2"), print("42"));
    }

    #[test]
    fn bindings_can_shadow_builtins() {
        let mut r = repl();
        assert_eq!(r.handle("map = 5"), ReplOutput::Nothing);
        assert_eq!(r.handle("map + 1"), print("6"));
        // A rebound builtin's arguments stay lazy (the builtin's are computed at the call).
        assert_eq!(r.handle("map = f: xs: 7"), ReplOutput::Nothing);
        assert_eq!(r.handle("map 1 (throw \"lazy\")"), print("7"));
    }

    #[test]
    fn commands() {
        let mut r = repl();
        assert_eq!(r.handle(":t { a = 1; }"), print("set"));
        assert_eq!(
            r.handle(":p { a = { b = 1 + 1; }; }"),
            print("{ a = { b = 2; }; }")
        );
        assert_eq!(r.handle(":l lib.nix"), print("Added 2 variables."));
        assert_eq!(r.handle("double 21"), print("42"));
        assert_eq!(r.handle(":l fn.nix"), print("Added 1 variables."));
        assert_eq!(r.handle("greeting"), print("\"hi\""));
        assert_eq!(r.handle(":q"), ReplOutput::Quit);
        assert!(matches!(r.handle(":nope"), ReplOutput::Error(e) if e.contains(":nope")));
    }

    #[test]
    fn load_resolves_like_import_and_auto_calls_like_eval() {
        let io = crate::io::MemoryIO::default()
            .with_file("/work/pkg/default.nix", "{ n }: { twice = n * 2; }")
            .with_symlink("/work/alias.nix", "pkg")
            .with_file("/work/bad.nix", "{ a = ; }");
        let cwd = Path::new("/work");
        let evaluator = entry::Setup::default().evaluator(Rc::new(io), cwd, |_| {});
        let mut r = Repl::new(evaluator, cwd.to_path_buf());
        let n = [("n".to_string(), entry::AutoArg::Expr("21".into()))];
        let auto = entry::auto_args(r.evaluator(), &n, cwd).unwrap();
        r.set_auto_args(auto);
        assert_eq!(r.handle(":l alias.nix"), print("Added 1 variables."));
        assert_eq!(r.handle("twice"), print("42"));
        let ReplOutput::Error(e) = r.handle(":l missing.nix") else {
            panic!("a missing file is an error")
        };
        assert!(e.contains("/work/missing.nix"), "{e}");
        // A syntax error keeps its location in the file.
        let ReplOutput::Error(e) = r.handle(":l bad.nix") else {
            panic!("a syntax error is an error")
        };
        assert!(e.contains("/work/bad.nix:1:"), "{e}");
    }

    #[test]
    fn errors_are_reported_and_the_session_goes_on() {
        let mut r = repl();
        let ReplOutput::Error(message) = r.handle("undefinedName + 1") else {
            panic!("expected an error")
        };
        assert!(
            message.contains("undefined variable 'undefinedName'"),
            "{message}"
        );
        assert!(matches!(r.handle("1 +"), ReplOutput::Error(_)));
        assert_eq!(r.handle("2 * 3"), print("6"));
    }
}
