//! Builtins that reach files (all through EvalIO), the environment and configuration,
//! and the store-dependent builtins that are not built yet.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::{attrs, fetch_args, list, string, sym, BuiltinConfig, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{force, type_error, Co, GenFuture};
use crate::state::EvalState;
use crate::symbol::Symbol;
use crate::value::{Attrs, NixString, Value};

/// A path argument: a path, or a string holding an absolute path.
pub fn path_arg(v: &Value) -> R<PathBuf> {
    match v {
        Value::Path(p) => Ok((**p).clone()),
        Value::String(s) => {
            let s = s.to_str_lossy();
            if !s.starts_with('/') {
                return Err(ErrorKind::other(format!(
                    "string '{s}' doesn't represent an absolute path"
                ))
                .into());
            }
            Ok(crate::compiler::canon_path(Path::new(&*s)))
        }
        other => {
            Err(ErrorKind::other(format!("cannot coerce {} to a path", other.describe())).into())
        }
    }
}

/// Whether a path exists, asked of the evaluator's EvalIO.
async fn path_exists(co: &Co, p: PathBuf) -> R<bool> {
    match co.yield_(crate::generators::Request::PathExists(p)).await {
        crate::generators::Response::Value(Value::Bool(b)) => Ok(b),
        _ => Err(ErrorKind::other("internal error: bad resume of pathExists").into()),
    }
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> ErrorKind {
    ErrorKind::Io(format!("{what} '{}': {e}", p.display()))
}

fn find_file(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        // The search path is checked before the name is forced, as C++ Nix does.
        let sp = force(&co, a[0].clone()).await?;
        let sp = list(&sp)?.clone();
        let name = force(&co, a[1].clone()).await?;
        let name = string(&name)?.to_str_lossy().into_owned();
        for e in sp.iter() {
            let e = force(&co, e.clone()).await?;
            let e = attrs(&e)?.clone();
            let prefix = match e.get(sym::prefix()) {
                Some(p) => string(&force(&co, p.clone()).await?)?
                    .to_str_lossy()
                    .into_owned(),
                None => String::new(),
            };
            let Some(path) = e.get(sym::path()) else {
                continue;
            };
            let path = force(&co, path.clone()).await?;
            let path = match &path {
                Value::Path(p) => p.to_string_lossy().into_owned(),
                Value::String(s) => s.to_str_lossy().into_owned(),
                other => return Err(type_error("a string", other)),
            };
            let rest = if prefix.is_empty() {
                Some(name.clone())
            } else if name == prefix {
                Some(String::new())
            } else {
                name.strip_prefix(&format!("{prefix}/"))
                    .map(|s| s.to_string())
            };
            let Some(rest) = rest else { continue };
            let candidate = if rest.is_empty() {
                PathBuf::from(&path)
            } else {
                Path::new(&path).join(rest)
            };
            let candidate = crate::compiler::canon_path(&candidate);
            if path_exists(&co, candidate.clone()).await? {
                return Ok(Value::Path(Rc::new(candidate)));
            }
        }
        // Catchable, as in current C++ Nix (`tryEval <x>` is a common probe).
        Err(ErrorKind::Throw(format!(
            "file '{name}' was not found in the Nix search path (add it using $NIX_PATH or -I)"
        ))
        .into())
    })
}

fn not_built(r: &mut Registry, name: &'static str, arity: usize, what: &'static str) {
    r.plain_mask(name, arity, 0, move |_, _| {
        Err(ErrorKind::NotBuilt(what.to_string()).into())
    });
}

pub fn register(r: &mut Registry, cfg: &BuiltinConfig) {
    r.plain("import", 1, |s: &mut EvalState, a| {
        s.import(&path_arg(&a[0])?)
    });
    r.plain("readFile", 1, |s: &mut EvalState, a| {
        let p = path_arg(&a[0])?;
        let bytes =
            s.io.read_file(&p)
                .map_err(|e| io_err("opening file", &p, e))?;
        Ok(Value::String(NixString::from(bytes)))
    });
    r.plain("readDir", 1, |s: &mut EvalState, a| {
        let p = path_arg(&a[0])?;
        let entries =
            s.io.read_dir(&p)
                .map_err(|e| io_err("reading directory", &p, e))?;
        Ok(Value::attrs(Attrs::from_unsorted(
            entries
                .into_iter()
                .map(|(n, t)| {
                    (
                        Symbol::intern(&n),
                        Value::String(NixString::from(t.as_nix_str())),
                    )
                })
                .collect(),
        )))
    });
    r.plain("readFileType", 1, |s: &mut EvalState, a| {
        let p = path_arg(&a[0])?;
        let t =
            s.io.file_type(&p)
                .map_err(|e| io_err("getting status of", &p, e))?;
        Ok(Value::String(NixString::from(t.as_nix_str())))
    });
    r.plain("pathExists", 1, |s: &mut EvalState, a| {
        // A trailing `/` or `/.` asks for a directory, as in C++ Nix.
        let must_dir = match &a[0] {
            Value::String(st) => st.as_bytes().ends_with(b"/") || st.as_bytes().ends_with(b"/."),
            _ => false,
        };
        let p = path_arg(&a[0])?;
        let exists = s.io.path_exists(&p);
        let is_dir = || {
            crate::io::follow_symlinks(&*s.io, &p)
                .is_ok_and(|(_, t)| t == Some(crate::io::FileType::Directory))
        };
        Ok(Value::Bool(exists && (!must_dir || is_dir())))
    });
    r.plain("getEnv", 1, |_, a| {
        let name = string(&a[0])?;
        Ok(Value::String(NixString::from(
            std::env::var(&*name.to_str_lossy()).unwrap_or_default(),
        )))
    });
    r.gen("toPath", 1, |co, a| {
        Box::pin(async move {
            let s = super::strings::coerce(
                &co,
                a[0].clone(),
                super::strings::Coerce {
                    strong: false,
                    copy_paths: false,
                },
            )
            .await?;
            let p = path_arg(&Value::String(s))?;
            Ok(Value::String(NixString::from(
                crate::compiler::canon_path(&p)
                    .to_string_lossy()
                    .into_owned(),
            )))
        })
    });
    r.gen("findFile", 2, find_file);
    r.value("nixPath", {
        Value::list(
            cfg.nix_path
                .iter()
                .map(|(prefix, path)| {
                    Value::attrs(Attrs::from_sorted(vec![
                        (sym::path(), Value::String(NixString::from(path.as_str()))),
                        (
                            sym::prefix(),
                            Value::String(NixString::from(prefix.as_str())),
                        ),
                    ]))
                })
                .collect(),
        )
    });
    r.value(
        "currentSystem",
        Value::String(NixString::from(cfg.current_system.as_str())),
    );
    r.value(
        "storeDir",
        Value::String(NixString::from(cfg.store_dir.as_str())),
    );
    r.value("nixVersion", Value::String(NixString::from("2.18.0")));
    r.value("langVersion", Value::Int(6));
    // Fetchers check their argument as C++ Nix does, then say they are not built.
    r.gen("fetchurl", 1, |co, a| {
        Box::pin(async move {
            fetch_args::url_fetch(&co, a[0].clone(), "fetchurl", false).await?;
            Err(fetch_args::not_built("builtins.fetchurl").into())
        })
    });
    r.gen("fetchTarball", 1, |co, a| {
        Box::pin(async move {
            fetch_args::url_fetch(&co, a[0].clone(), "fetchTarball", true).await?;
            Err(fetch_args::not_built("fetchTarball").into())
        })
    });
    r.gen("fetchGit", 1, |co, a| {
        Box::pin(async move {
            fetch_args::tree_fetch(&co, a[0].clone(), true).await?;
            Err(fetch_args::not_built("fetchGit").into())
        })
    });
    not_built(
        r,
        "fetchMercurial",
        1,
        "fetchMercurial (fetchers come with the builder)",
    );
    r.gen("fetchTree", 1, |co, a| {
        Box::pin(async move {
            fetch_args::tree_fetch(&co, a[0].clone(), false).await?;
            Err(fetch_args::not_built("fetchTree").into())
        })
    });
    // The path first, then the scope, as C++ Nix: with both failing, the path's error
    // is the one.
    r.gen("scopedImport", 2, |co, a| {
        Box::pin(async move {
            let path = path_arg(&force(&co, a[1].clone()).await?)?;
            let scope = attrs(&force(&co, a[0].clone()).await?)?.clone();
            super::store_paths::with_state(&co, move |s| scoped_import(s, scope, path)).await
        })
    });
}

/// `scopedImport scope path`, both forced: the file compiled with the names of `scope`
/// in its outermost scope, as a thunk of its value.
fn scoped_import(s: &mut EvalState, scope: Attrs, path: PathBuf) -> R<Value> {
    let path = crate::io::resolve_expr_path(&*s.io, &path).map_err(ErrorKind::Io)?;
    let bytes =
        s.io.read_file(&path)
            .map_err(|e| ErrorKind::Io(format!("cannot import '{}': {e}", path.display())))?;
    let file = std::sync::Arc::new(crate::compiled::SourceFile::from_bytes(
        path.to_string_lossy().into_owned(),
        &bytes,
        path.parent().unwrap_or(Path::new("/")).to_path_buf(),
    ));
    let names: Vec<Symbol> = scope.keys().collect();
    let c = crate::compiler::compile_file_in_scope(
        file,
        &s.global_index,
        s.global_names.clone(),
        s.compile_options,
        Some(names.clone()),
    )
    .map_err(|e| ErrorKind::Other(e.to_string()))?;
    let names = crate::value::ScopeChain {
        info: std::sync::Arc::new(crate::compiled::ScopeInfo {
            kind: crate::compiled::ScopeKind::Let,
            names: names.into_iter().map(Some).collect(),
        }),
        outer: None,
    };
    let env = crate::value::Env::new(scope.len(), None);
    for (i, (_, v)) in scope.iter().enumerate() {
        env.slots.borrow_mut()[i] = v.clone();
    }
    Ok(Value::Thunk(crate::value::Thunk::suspended(
        crate::value::Code::new_in(c.root.clone(), Some(Rc::new(names))),
        env,
    )))
}
