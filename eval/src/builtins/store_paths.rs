//! Builtins that produce store paths from files and texts: coercing a path to a string
//! (which imports it), `builtins.path`, `filterSource`, `toFile`, `storePath`. Paths
//! are computed with nix-compat exactly as C++ Nix computes them; the files are read
//! through EvalIO and what would be added is handed to `EvalIO::add_to_store`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;

use nix_compat::nar::tree::NarTree;
use nix_compat::store_path::compute::FileIngestionMethod;
use nix_compat::{ContentAddress, HashAlgo, NixHash, StoreDir, StorePath};

use super::{attrs, boolean, string, BuiltinDef, BuiltinImpl, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{call2, force, type_error, Co, GenFuture};
use crate::io::{EvalIO, FileType};
use crate::pending::StoreAddition;
use crate::state::EvalState;
use crate::value::{BuiltinApp, NixContext, NixString, Value};

/// Run `f` with the evaluation state from inside a generator builtin (which has no
/// state of its own): it is wrapped as a one-shot plain builtin and called.
pub async fn with_state<T: 'static>(
    co: &Co,
    f: impl FnOnce(&mut EvalState) -> R<T> + 'static,
) -> R<T> {
    let result: Rc<RefCell<Option<R<T>>>> = Rc::default();
    let out = result.clone();
    let f = RefCell::new(Some(f));
    let def = BuiltinDef {
        name: "«with-state»",
        arity: 1,
        strict: 0,
        quick: None,
        check_first: None,
        imp: BuiltinImpl::Plain(Rc::new(move |s, _| {
            if let Some(f) = f.borrow_mut().take() {
                *out.borrow_mut() = Some(f(s));
            }
            Ok(Value::Null)
        })),
    };
    let b = Value::Builtin(Rc::new(BuiltinApp {
        def: Rc::new(def),
        args: Default::default(),
    }));
    crate::generators::call(co, b, Value::Null).await?;
    let r = result.borrow_mut().take();
    r.unwrap_or_else(|| Err(ErrorKind::other("internal error: state callback did not run").into()))
}

/// A store path string whose context is the path itself.
pub fn store_path_string(dir: &StoreDir, p: &StorePath) -> Value {
    let s = dir.display(p);
    let ctx: NixContext = [s.clone()].into_iter().collect();
    Value::String(NixString::new(s.into_bytes(), Some(ctx)))
}

fn base_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn io_msg(what: &str, p: &Path, e: std::io::Error) -> String {
    format!("{what} '{}': {e}", p.display())
}

fn unsupported_type(p: &Path) -> String {
    format!("file '{}' has an unsupported type", p.display())
}

/// Read a file-system tree through EvalIO, as `nix-store --dump` would see it.
fn read_tree<I: EvalIO + ?Sized>(io: &I, p: &Path) -> Result<NarTree, String> {
    match io
        .file_type(p)
        .map_err(|e| io_msg("getting status of", p, e))?
    {
        FileType::Regular => Ok(NarTree::File {
            executable: io.is_executable(p),
            contents: io.read_file(p).map_err(|e| io_msg("reading file", p, e))?,
        }),
        FileType::Symlink => Ok(NarTree::Symlink {
            target: io
                .read_link(p)
                .map_err(|e| io_msg("reading symlink", p, e))?
                .to_string_lossy()
                .into_owned()
                .into_bytes(),
        }),
        FileType::Directory => {
            let mut entries = BTreeMap::new();
            for (name, _) in io
                .read_dir(p)
                .map_err(|e| io_msg("reading directory", p, e))?
            {
                entries.insert(name.clone().into_bytes(), read_tree(io, &p.join(&name))?);
            }
            Ok(NarTree::Directory(entries))
        }
        FileType::Unknown => Err(unsupported_type(p)),
    }
}

/// Read a tree, asking the Nix function `filter` about each entry below the root
/// (as C++ Nix does, the root itself is always included).
fn read_tree_filtered<'a>(
    co: &'a Co,
    p: PathBuf,
    filter: &'a Value,
) -> Pin<Box<dyn Future<Output = R<NarTree>> + 'a>> {
    Box::pin(async move {
        let q = p.clone();
        let t = with_state(co, move |s| {
            s.io.file_type(&q)
                .map_err(|e| ErrorKind::Io(io_msg("getting status of", &q, e)).into())
        })
        .await?;
        if t != FileType::Directory {
            let q = p.clone();
            return with_state(co, move |s| {
                read_tree(&*s.io, &q).map_err(|e| ErrorKind::Io(e).into())
            })
            .await;
        }
        let q = p.clone();
        let list = with_state(co, move |s| {
            s.io.read_dir(&q)
                .map_err(|e| ErrorKind::Io(io_msg("reading directory", &q, e)).into())
        })
        .await?;
        let mut sorted: Vec<(String, FileType)> = list;
        sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut entries = BTreeMap::new();
        for (name, ty) in sorted {
            let child = p.join(&name);
            let keep = call2(
                co,
                filter.clone(),
                Value::String(NixString::from(child.to_string_lossy().into_owned())),
                Value::String(NixString::from(ty.as_nix_str())),
            )
            .await?;
            if !boolean(&force(co, keep).await?)? {
                continue;
            }
            entries.insert(
                name.into_bytes(),
                read_tree_filtered(co, child, filter).await?,
            );
        }
        Ok(NarTree::Directory(entries))
    })
}

/// Compute the store path of a tree added under `name` and hand the addition to EvalIO.
/// With `expected`, the content must have that hash (C++ Nix's `sha256` argument).
fn add_tree<I: EvalIO + ?Sized>(
    io: &I,
    from: &Path,
    name: &str,
    tree: NarTree,
    method: FileIngestionMethod,
    expected: Option<NixHash>,
) -> Result<StorePath, String> {
    let dir = StoreDir::default();
    let nar = tree
        .to_nar()
        .map_err(|e| format!("serialising '{}': {e}", from.display()))?;
    let hashed: &[u8] = match (method, &tree) {
        (FileIngestionMethod::Recursive, _) => &nar,
        (FileIngestionMethod::Flat, NarTree::File { contents, .. }) => contents,
        (FileIngestionMethod::Flat, _) => {
            return Err(format!(
                "file '{}' is not a regular file; it cannot be added flat",
                from.display()
            ))
        }
    };
    let algo = expected.as_ref().map_or(HashAlgo::Sha256, |h| h.algo());
    let hash = NixHash::digest(algo, hashed);
    if let Some(e) = &expected {
        if *e != hash {
            return Err(format!(
                "store path mismatch in (possibly filtered) path added from '{}': expected {}, got {}",
                from.display(),
                e.to_sri(),
                hash.to_sri()
            ));
        }
    }
    let ca = ContentAddress::Fixed { method, hash };
    let path = ca
        .store_path(&dir, name, [], false)
        .map_err(|e| format!("cannot add '{}' to the store: {e}", from.display()))?;
    io.add_to_store(
        &path,
        StoreAddition::Source {
            from: from.to_path_buf(),
            nar,
            ca,
        },
    )?;
    Ok(path)
}

/// What `"${./src}"` does: import the whole path, named after its base name.
pub fn import_unfiltered<I: EvalIO + ?Sized>(io: &I, p: &Path) -> Result<String, String> {
    let name = base_name(p);
    if name.ends_with(".drv") {
        return Err(format!(
            "file names are not allowed to end in '.drv' ('{}')",
            p.display()
        ));
    }
    let tree = read_tree(io, p)?;
    let sp = add_tree(io, p, &name, tree, FileIngestionMethod::Recursive, None)?;
    Ok(StoreDir::default().display(&sp))
}

/// A path argument that must not carry string context (we cannot build to read it).
async fn context_free_path(co: &Co, v: Value, what: &str) -> R<PathBuf> {
    let v = force(co, v).await?;
    if let Value::String(s) = &v {
        if s.has_context() {
            return Err(ErrorKind::other(format!(
                "{what}: string '{}' cannot refer to other paths (reading from the store needs a store, which tvix-eval does not have)",
                s.to_str_lossy()
            )).into());
        }
    }
    super::io::path_arg(&v)
}

async fn add_path(
    co: &Co,
    from: PathBuf,
    name: String,
    filter: Option<Value>,
    method: FileIngestionMethod,
    expected: Option<NixHash>,
) -> R<Value> {
    let tree = match &filter {
        Some(f) => read_tree_filtered(co, from.clone(), f).await?,
        None => {
            let q = from.clone();
            with_state(co, move |s| {
                read_tree(&*s.io, &q).map_err(|e| ErrorKind::Io(e).into())
            })
            .await?
        }
    };
    let sp = with_state(co, move |s| {
        add_tree(&*s.io, &from, &name, tree, method, expected)
            .map_err(|e| ErrorKind::Other(e).into())
    })
    .await?;
    Ok(store_path_string(&StoreDir::default(), &sp))
}

fn no_ctx_string(v: &Value, what: &str) -> R<String> {
    let s = string(v)?;
    if s.has_context() {
        return Err(ErrorKind::other(format!(
            "{what}: the string '{}' is not allowed to refer to a store path",
            s.to_str_lossy()
        ))
        .into());
    }
    Ok(s.to_str_lossy().into_owned())
}

fn builtin_path(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let args = force(&co, a[0].clone()).await?;
        let args = attrs(&args)?.clone();
        let mut path = None;
        let mut name = None;
        let mut filter = None;
        let mut method = FileIngestionMethod::Recursive;
        let mut expected = None;
        for (k, v) in args.iter() {
            match k.as_str() {
                "path" => path = Some(context_free_path(&co, v.clone(), "builtins.path").await?),
                "name" => {
                    name = Some(no_ctx_string(
                        &force(&co, v.clone()).await?,
                        "builtins.path",
                    )?)
                }
                "filter" => {
                    let f = force(&co, v.clone()).await?;
                    if !f.is_function() {
                        return Err(type_error("a function", &f));
                    }
                    filter = Some(f)
                }
                "recursive" => {
                    if !boolean(&force(&co, v.clone()).await?)? {
                        method = FileIngestionMethod::Flat;
                    }
                }
                "sha256" => {
                    let s = no_ctx_string(&force(&co, v.clone()).await?, "builtins.path")?;
                    expected = Some(parse_hash_allow_empty(&s, Some(HashAlgo::Sha256))?);
                }
                other => {
                    return Err(ErrorKind::other(format!(
                        "unsupported argument '{other}' to 'addPath'"
                    ))
                    .into())
                }
            }
        }
        let path = path.ok_or_else(|| {
            ErrorKind::other(
                "missing required 'path' attribute in the first argument to builtins.path",
            )
        })?;
        let name = name.unwrap_or_else(|| base_name(&path));
        add_path(&co, path, name, filter, method, expected).await
    })
}

fn filter_source(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        // The path first, as C++ Nix: with both failing, the path's error is the one.
        let path = context_free_path(&co, a[1].clone(), "filterSource").await?;
        let filter = force(&co, a[0].clone()).await?;
        if !filter.is_function() {
            return Err(ErrorKind::other(format!(
                "first argument in call to 'filterSource' is not a function but {}",
                filter.describe()
            ))
            .into());
        }
        let name = base_name(&path);
        add_path(
            &co,
            path,
            name,
            Some(filter),
            FileIngestionMethod::Recursive,
            None,
        )
        .await
    })
}

/// `Hash::parseAny` with C++ Nix's allowance for an empty hash (all zeroes, for
/// "tell me the real hash" workflows), which needs the algorithm.
pub fn parse_hash_allow_empty(s: &str, algo: Option<HashAlgo>) -> R<NixHash> {
    if s.is_empty() {
        let algo =
            algo.ok_or_else(|| ErrorKind::other("empty hash requires explicit hash type"))?;
        return NixHash::from_digest(algo, &vec![0; algo.digest_len()])
            .map_err(|e| ErrorKind::other(e.to_string()).into());
    }
    NixHash::parse(s, algo).map_err(|e| ErrorKind::other(format!("invalid hash '{s}': {e}")).into())
}

pub fn register(r: &mut Registry) {
    r.plain_checked("toFile", 2, super::string_first, |s: &mut EvalState, a| {
        let name = string(&a[0])?.to_str_lossy().into_owned();
        let contents = string(&a[1])?;
        let dir = StoreDir::default();
        let mut refs = BTreeSet::new();
        for c in contents.context().into_iter().flatten() {
            if c.starts_with('=') || c.starts_with('!') {
                return Err(ErrorKind::other(format!(
                    "in 'toFile': the file named '{name}' must not contain a reference to a derivation but contains ({c})"
                )).into());
            }
            refs.insert(dir.parse(c.as_bytes()).map_err(|e| ErrorKind::other(e.to_string()))?);
        }
        let path = nix_compat::store_path::compute::make_text_path(&dir, &name, contents.as_bytes(), &refs)
            .map_err(|e| ErrorKind::other(format!("in 'toFile': {e}")))?;
        s.io.add_to_store(
            &path,
            StoreAddition::Text {
                contents: contents.as_bytes().to_vec(),
                references: refs,
            },
        )
        .map_err(ErrorKind::Io)?;
        Ok(store_path_string(&dir, &path))
    });
    r.gen("path", 1, builtin_path);
    r.gen("filterSource", 2, filter_source);
    r.plain("storePath", 1, |s: &mut EvalState, a| {
        let dir = StoreDir::default();
        let (text, ctx) = match &a[0] {
            Value::Path(p) => (p.to_string_lossy().into_owned(), None),
            Value::String(s) => (s.to_str_lossy().into_owned(), s.context().cloned()),
            other => return Err(type_error("a path", other)),
        };
        let p = crate::compiler::canon_path(Path::new(&text))
            .to_string_lossy()
            .into_owned();
        let (sp, sub) = dir
            .parse_with_subpath(p.as_bytes())
            .map_err(|_| ErrorKind::other(format!("path '{p}' is not in the Nix store")))?;
        // C++ Nix resolves symlinks below a store path, so the file must exist.
        if !sub.is_empty() && !s.io.path_exists(Path::new(&p)) {
            return Err(ErrorKind::Io(format!(
                "getting status of '{p}': No such file or directory"
            ))
            .into());
        }
        let mut ctx = ctx.unwrap_or_default();
        ctx.insert(dir.display(&sp));
        Ok(Value::String(NixString::new(p.into_bytes(), Some(ctx))))
    });
}
