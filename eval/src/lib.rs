//! tvix-eval: Nix source to values.
//!
//! A file is parsed (rnix), compiled to bytecode once ([`compiler`], [`compiled`]) and
//! run by a VM on an explicit frame stack ([`vm`]); builtins live in [`builtins`].
//! The compiled form is immutable and `Send + Sync`, so it can be cached and shared;
//! runtime values are single-threaded.
//!
//! Name resolution is static: every variable is compiled to (scope depth, slot) in the
//! chain of runtime environments (one per `let`, `rec`, lambda call and `with`), or to
//! a global (builtin) slot; only names under a `with` are looked up at run time.
//! Closures and thunks capture their environment by pointer, as C++ Nix's `Env` does,
//! which makes creating a thunk one allocation and recursive bindings free.
//!
//! This crate must not know about stores, builds, editors or protocols: every file access
//! goes through [`io::EvalIO`], and whatever needs the outside world (fetchers, the store)
//! is handed in as extra builtins by the user of the crate.

mod added_reads;
pub mod attr_pos;
pub mod builtins;
pub mod compiled;
pub mod compiler;
pub mod entry;
pub mod errors;
mod frame_eval;
pub mod generators;
pub mod io;
pub mod observer;
pub mod parse;
pub mod parser;
pub mod pending;
pub mod print;
pub mod recursive_scopes;
pub mod repl;
pub mod search_path;
pub mod source_bytes;
pub mod state;
pub mod symbol;
pub mod value;
pub mod vm;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

pub use builtins::{BuiltinConfig, Registry};
pub use compiled::{CompiledFile, SourceFile};
pub use errors::{ErrorKind, EvalError};
pub use observer::{NoObserver, Observer};
pub use state::{CompileCache, EvalState, ImportCache};
pub use value::Value;
pub use vm::{Limits, Vm};

/// Everything one evaluation needs: file access, builtins, caches and limits.
pub struct Evaluator {
    pub state: EvalState,
    pub limits: Limits,
}

impl Evaluator {
    /// An evaluator with the standard builtins plus whatever `extra` registers.
    pub fn new(
        io: Rc<dyn io::EvalIO>,
        config: &BuiltinConfig,
        extra: impl FnOnce(&mut Registry),
    ) -> Evaluator {
        let mut r = Registry::default();
        builtins::all_groups(&mut r, config);
        extra(&mut r);
        let g = builtins::make_globals(r);
        let derivation = g.derivation.clone();
        let builtins_self = g.builtins_self.clone();
        let ev = Evaluator {
            state: EvalState {
                io,
                globals: g.values,
                global_index: Rc::new(g.index),
                global_names: g.names,
                imports: Rc::new(RefCell::new(ImportCache::default())),
                compiled: Arc::new(CompileCache::default()),
                last_compile_error: None,
                compile_options: Default::default(),
                builtins_self,
                scopes: Default::default(),
                observed: false,
            },
            limits: Limits::default(),
        };
        let c = ev
            .compile(
                "«derivation.nix»",
                builtins::derivation::DERIVATION_NIX,
                Path::new("/"),
            )
            .expect("the bundled derivation wrapper compiles");
        *derivation.borrow_mut() = value::ThunkState::Suspended {
            proto: value::Code::new(c.root.clone()),
            env: value::Env::new(0, None),
        };
        ev
    }

    /// Use (and share) a compile cache, e.g. one kept across evaluations.
    pub fn with_compile_cache(mut self, c: Arc<CompileCache>) -> Self {
        self.state.compiled = c;
        self
    }

    /// Use (and share) an import cache.
    pub fn with_import_cache(mut self, c: Rc<RefCell<ImportCache>>) -> Self {
        self.state.imports = c;
        self
    }

    /// Compile source text. `dir` is where relative paths resolve.
    pub fn compile(
        &self,
        name: &str,
        text: &str,
        dir: &Path,
    ) -> Result<Arc<CompiledFile>, EvalError> {
        self.state.compile_source(Arc::new(SourceFile {
            name: name.to_string(),
            text: text.to_string(),
            dir: dir.to_path_buf(),
        }))
    }

    /// Compile a file read through EvalIO.
    pub fn compile_path(&self, path: &Path) -> Result<Arc<CompiledFile>, EvalError> {
        let bytes = self.state.io.read_file(path).map_err(|e| {
            EvalError::new(
                ErrorKind::Io(format!("reading '{}': {e}", path.display())),
                None,
            )
        })?;
        let hash = state::content_hash(&bytes);
        let cpp_thunks = self.state.compile_options.cpp_thunks;
        if let Some(c) = self.state.compiled.get(path, hash, cpp_thunks) {
            return Ok(c);
        }
        let c = self.state.compile_source(Arc::new(SourceFile::from_bytes(
            path.to_string_lossy().into_owned(),
            &bytes,
            path.parent().unwrap_or(Path::new("/")).to_path_buf(),
        )))?;
        self.state
            .compiled
            .insert(PathBuf::from(path), hash, cpp_thunks, c.clone());
        Ok(c)
    }

    /// A VM over this evaluator's state.
    pub fn vm<'a, O: Observer>(&'a mut self, observer: &'a mut O) -> Vm<'a, O> {
        let limits = self.limits.clone();
        Vm::new(&mut self.state, observer, limits)
    }

    /// Run a compiled file to weak head normal form.
    pub fn run(&mut self, c: &CompiledFile) -> Result<Value, EvalError> {
        let v = self.state.file_thunk(c);
        self.vm(&mut NoObserver).force(v)
    }

    /// Evaluate source text fully (deeply forced), with no observer.
    pub fn eval_strict(&mut self, text: &str) -> Result<Value, EvalError> {
        let c = self.compile("«string»", text, Path::new("/"))?;
        let v = self.state.file_thunk(&c);
        self.vm(&mut NoObserver).deep_force(v)
    }
}

/// Evaluate an expression with the standard builtins and print it deeply forced, as
/// `nix-instantiate --eval --strict` would. Convenient for tests.
pub fn eval_to_string(text: &str) -> Result<String, EvalError> {
    let mut ev = Evaluator::new(Rc::new(io::StdIO), &BuiltinConfig::default(), |_| {});
    let v = ev.eval_strict(text)?;
    Ok(String::from_utf8_lossy(&print::print_value(&v)).into_owned())
}
