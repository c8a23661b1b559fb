//! What an evaluation shares across its frames: file access, the globals (builtins),
//! and the two caches behind imports.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use crate::compiled::{CompiledFile, SourceFile};
use crate::errors::{ErrorKind, EvalError, R};
use crate::io::EvalIO;
use crate::recursive_scopes::ScopeRegistry;
use crate::symbol::Symbol;
use crate::value::{Env, Thunk, Value};

/// Identity of a file's content, so a cached entry is used only while the file is
/// unchanged.
pub fn content_hash(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    bytes.hash(&mut h);
    bytes.len().hash(&mut h);
    h.finish()
}

/// Compiled files by (path, content hash, whether compiled with C++ Nix's thunks: see
/// `CompileOptions::cpp_thunks`). Thread-safe: compiled code is `Send + Sync`
/// and can serve several evaluations (or the incremental database) at once.
#[derive(Default)]
pub struct CompileCache {
    entries: Mutex<HashMap<(PathBuf, u64, bool), Arc<CompiledFile>>>,
}

impl CompileCache {
    pub fn get(&self, path: &Path, hash: u64, cpp_thunks: bool) -> Option<Arc<CompiledFile>> {
        let m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        m.get(&(path.to_path_buf(), hash, cpp_thunks)).cloned()
    }

    pub fn insert(&self, path: PathBuf, hash: u64, cpp_thunks: bool, c: Arc<CompiledFile>) {
        let mut m = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        m.insert((path, hash, cpp_thunks), c);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        if let Ok(mut m) = self.entries.lock() {
            m.clear()
        }
    }
}

/// The value of each imported file, keyed by path and content hash. Every `import`
/// goes through it; its user may keep it across evaluations and drop entries whose
/// files changed.
#[derive(Default)]
pub struct ImportCache {
    entries: HashMap<PathBuf, (u64, Value)>,
    /// Recursive scopes of the evaluators that shared this cache and are gone: their
    /// values may live on in the entries, so their cycles are broken with the cache.
    pub(crate) scopes: ScopeRegistry,
}

impl ImportCache {
    pub fn get(&self, path: &Path, hash: u64) -> Option<Value> {
        match self.entries.get(path) {
            Some((h, v)) if *h == hash => Some(v.clone()),
            _ => None,
        }
    }
    pub fn insert(&mut self, path: PathBuf, hash: u64, v: Value) {
        self.entries.insert(path, (hash, v));
    }
    /// Forget one file's value.
    pub fn invalidate(&mut self, path: &Path) {
        self.entries.remove(path);
    }
    pub fn clear(&mut self) {
        self.entries.clear()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.entries.keys()
    }
}

pub struct EvalState {
    pub io: Rc<dyn EvalIO>,
    pub globals: Vec<Value>,
    pub global_index: Rc<HashMap<Symbol, u32>>,
    pub global_names: Arc<[Symbol]>,
    pub imports: Rc<RefCell<ImportCache>>,
    pub compiled: Arc<CompileCache>,
    /// Errors raised while compiling an imported file keep their full location here,
    /// since a builtin can only return an `ErrorKind`.
    pub last_compile_error: Option<EvalError>,
    pub compile_options: crate::compiler::CompileOptions,
    /// The thunk through which the `builtins` set contains itself.
    pub builtins_self: Thunk,
    /// This evaluation's recursive scopes, whose cycles are broken when it is dropped.
    pub scopes: ScopeRegistry,
    /// Whether the running VM has an observer (a debugger): builtins then leave every
    /// call of Nix code to the VM, where it is seen, instead of computing it early.
    pub observed: bool,
}

impl Drop for EvalState {
    /// `builtins.builtins` makes the globals an `Rc` cycle that would outlive the
    /// evaluator; a long-running process (the language server) makes many of them.
    fn drop(&mut self) {
        *self.builtins_self.borrow_mut() = crate::value::ThunkState::Blackhole;
        // Values kept in a shared import cache may still need this evaluation's
        // scopes; the cache breaks their cycles when it goes. Otherwise `scopes` does
        // it now, being dropped with the other fields.
        if Rc::strong_count(&self.imports) > 1 {
            if let Ok(mut cache) = self.imports.try_borrow_mut() {
                self.scopes.move_into(&mut cache.scopes);
            }
        }
    }
}

impl EvalState {
    /// Compile a source text (not cached).
    pub fn compile_source(&self, file: Arc<SourceFile>) -> Result<Arc<CompiledFile>, EvalError> {
        crate::compiler::compile_file(
            file,
            &self.global_index,
            self.global_names.clone(),
            self.compile_options,
        )
        .map(Arc::new)
    }

    /// The global `name` (a builtin under its `__` name stays the builtin where a
    /// REPL binding shadows the plain one).
    pub fn global(&self, name: &str) -> Option<Value> {
        let i = *self.global_index.get(&Symbol::intern(name))?;
        self.globals.get(i as usize).cloned()
    }

    /// A thunk evaluating a compiled file.
    pub fn file_thunk(&self, c: &CompiledFile) -> Value {
        Value::Thunk(Thunk::suspended(
            crate::value::Code::new(c.root.clone()),
            Env::new(0, None),
        ))
    }

    /// `import path`: through the import cache, then the compile cache.
    pub fn import(&mut self, path: &Path) -> R<Value> {
        let path = crate::io::resolve_expr_path(&*self.io, path).map_err(ErrorKind::Io)?;
        let bytes = self
            .io
            .read_file(&path)
            .map_err(|e| ErrorKind::Io(format!("cannot import '{}': {}", path.display(), e)))?;
        let hash = content_hash(&bytes);
        if let Some(v) = self.imports.borrow().get(&path, hash) {
            return Ok(v);
        }
        let cpp_thunks = self.compile_options.cpp_thunks;
        let compiled = match self.compiled.get(&path, hash, cpp_thunks) {
            Some(c) => c,
            None => {
                let file = Arc::new(SourceFile::from_bytes(
                    path.to_string_lossy().into_owned(),
                    &bytes,
                    path.parent().unwrap_or(Path::new("/")).to_path_buf(),
                ));
                match self.compile_source(file) {
                    Ok(c) => {
                        self.compiled
                            .insert(path.clone(), hash, cpp_thunks, c.clone());
                        c
                    }
                    Err(e) => {
                        let kind = e.kind.clone();
                        let msg = e.to_string();
                        self.last_compile_error = Some(e);
                        return Err(match kind {
                            ErrorKind::Parse(_) | ErrorKind::UndefinedVariable { .. } => {
                                ErrorKind::Other(msg).into()
                            }
                            k => k.into(),
                        });
                    }
                }
            }
        };
        let v = self.file_thunk(&compiled);
        self.imports.borrow_mut().insert(path, hash, v.clone());
        Ok(v)
    }
}
