//! EvalIO: every file access of the evaluator goes through this trait, so the language
//! server can evaluate unsaved buffers, tests can run without a disk, and the builder can
//! take the paths the evaluator would import into the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix_compat::{Derivation, StorePath};

use crate::added_reads;
use crate::pending::StoreAddition;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    Unknown,
}

impl FileType {
    pub fn as_nix_str(self) -> &'static str {
        match self {
            FileType::Regular => "regular",
            FileType::Directory => "directory",
            FileType::Symlink => "symlink",
            FileType::Unknown => "unknown",
        }
    }
}

pub trait EvalIO {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// Entries of a directory with their types (symlinks not followed), any order.
    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileType)>>;
    /// Type of the path itself (symlinks not followed).
    fn file_type(&self, path: &Path) -> std::io::Result<FileType>;
    fn path_exists(&self, path: &Path) -> bool;
    /// Target of a symlink (to serialise imported paths as NAR).
    fn read_link(&self, path: &Path) -> std::io::Result<PathBuf> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("{}: symlinks are not supported here", path.display()),
        ))
    }
    /// Whether a regular file is executable (to serialise imported paths as NAR).
    fn is_executable(&self, _path: &Path) -> bool {
        false
    }
    /// Import a path into the store (as `"${./src}"` would) and return the store path:
    /// by default its NAR is read through this EvalIO, its path computed, and the
    /// addition handed to [`EvalIO::add_to_store`].
    fn import_path(&self, path: &Path) -> Result<String, String> {
        crate::builtins::store_paths::import_unfiltered(self, path)
    }
    // What evaluation would write. The defaults keep everything in
    // `crate::pending::thread_default()`; an implementation that takes the writes
    // itself (the builder) overrides `add_derivation`, `get_derivation`,
    // `add_to_store` and `references` together, since later derivations read back
    // what earlier ones handed over.

    /// Takes a derivation the evaluator produced. Default: kept in memory
    /// ([`crate::pending::thread_default`]).
    fn add_derivation(&self, drv_path: &StorePath, drv: &Derivation) -> Result<(), String> {
        crate::pending::thread_default().add_derivation(drv_path, drv);
        Ok(())
    }
    /// A derivation by its `.drv` path, when another one depends on it.
    fn get_derivation(&self, drv_path: &StorePath) -> Option<Derivation> {
        crate::pending::thread_default().derivation(drv_path)
    }
    /// Takes a path the evaluator would add to the store. Default: kept in memory.
    fn add_to_store(&self, path: &StorePath, what: StoreAddition) -> Result<(), String> {
        crate::pending::thread_default().add(path, what);
        Ok(())
    }
    /// References of a store path the evaluator added or knows (for `=drv` contexts,
    /// which pull in a derivation's whole closure). `None` when it is not known.
    fn references(&self, path: &StorePath) -> Option<Vec<StorePath>> {
        let p = crate::pending::thread_default();
        if let Some(d) = p.derivation(path) {
            return Some(
                d.input_sources
                    .iter()
                    .chain(d.input_derivations.keys())
                    .cloned()
                    .collect(),
            );
        }
        p.addition(path).map(|a| a.references().cloned().collect())
    }
}

/// The real file system.
#[derive(Default, Clone, Copy)]
pub struct StdIO;

fn ft(t: std::fs::FileType) -> FileType {
    if t.is_symlink() {
        FileType::Symlink
    } else if t.is_dir() {
        FileType::Directory
    } else if t.is_file() {
        FileType::Regular
    } else {
        FileType::Unknown
    }
}

/// The store path a file or directory would get when imported (`"${./x}"`): its NAR
/// hashed with sha256, as a recursive content-addressed "source" path. Computed only;
/// nothing is written.
pub fn compute_import_path(path: &Path) -> Result<String, String> {
    use nix_compat::store_path::compute::{make_fixed_output_path, FileIngestionMethod};
    let (hash, _) = nix_compat::nar::dump::nar_hash_path(path)
        .map_err(|e| format!("while importing '{}': {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "source".into());
    let dir = nix_compat::StoreDir::default();
    let sp = make_fixed_output_path(
        &dir,
        &name,
        FileIngestionMethod::Recursive,
        &hash,
        [],
        false,
    )
    .map_err(|e| format!("while importing '{}': {e}", path.display()))?;
    Ok(dir.display(&sp))
}

impl EvalIO for StdIO {
    // `import_path` is the trait's default: it computes the path like
    // `compute_import_path` and also hands the import to `add_to_store`.

    // Each read first serves what this evaluation added to the store (`added_reads`).

    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        added_reads::read_file(path).unwrap_or_else(|| std::fs::read(path))
    }

    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileType)>> {
        if let Some(r) = added_reads::read_dir(path) {
            return r;
        }
        let mut out = Vec::new();
        for e in std::fs::read_dir(path)? {
            let e = e?;
            out.push((
                e.file_name().to_string_lossy().into_owned(),
                ft(e.file_type()?),
            ));
        }
        Ok(out)
    }

    fn file_type(&self, path: &Path) -> std::io::Result<FileType> {
        added_reads::file_type(path)
            .unwrap_or_else(|| Ok(ft(std::fs::symlink_metadata(path)?.file_type())))
    }

    fn path_exists(&self, path: &Path) -> bool {
        // lstat, as C++ Nix: a dangling symlink exists.
        added_reads::file_type(path)
            .map_or_else(|| std::fs::symlink_metadata(path).is_ok(), |t| t.is_ok())
    }

    fn read_link(&self, path: &Path) -> std::io::Result<PathBuf> {
        added_reads::read_link(path).unwrap_or_else(|| std::fs::read_link(path))
    }

    fn is_executable(&self, path: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        if let Some(x) = added_reads::is_executable(path) {
            return x;
        }
        std::fs::symlink_metadata(path)
            .map(|m| m.permissions().mode() & 0o100 != 0)
            .unwrap_or(false)
    }
}

/// How many symlinks `resolve_expr_path` follows before it gives up (a loop).
const MAX_SYMLINK_FOLLOWS: usize = 1024;

/// The file that `import PATH` (or `tvix eval PATH`) reads, found as C++ Nix finds it:
/// a symlink is followed, so that relative paths in the file resolve where the file
/// really is, and a directory means its `default.nix`.
pub fn resolve_expr_path(io: &dyn EvalIO, path: &Path) -> Result<PathBuf, String> {
    let (path, t) = follow_symlinks(io, path)?;
    Ok(match t {
        Some(FileType::Directory) => path.join("default.nix"),
        _ => path,
    })
}

/// Where `path` leads once symlinks in its last component are followed (through
/// EvalIO, as `stat` follows them), and the type found there (`None`: nothing there,
/// or a link that cannot be read).
pub fn follow_symlinks(
    io: &dyn EvalIO,
    path: &Path,
) -> Result<(PathBuf, Option<FileType>), String> {
    let mut path = crate::compiler::canon_path(path);
    for _ in 0..MAX_SYMLINK_FOLLOWS {
        match io.file_type(&path) {
            Ok(FileType::Symlink) => match io.read_link(&path) {
                Ok(target) => {
                    let dir = path.parent().unwrap_or(Path::new("/"));
                    path = crate::compiler::canon_path(&dir.join(target));
                }
                Err(_) => return Ok((path, None)),
            },
            Ok(t) => return Ok((path, Some(t))),
            Err(_) => return Ok((path, None)),
        }
    }
    Err(format!(
        "too many symbolic links encountered while traversing the path '{}'",
        path.display()
    ))
}

/// An in-memory file system, for tests and unsaved editor buffers.
#[derive(Default, Clone)]
pub struct MemoryIO {
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    /// Symbolic links and their targets (relative targets resolve against the link's
    /// directory).
    pub symlinks: BTreeMap<PathBuf, PathBuf>,
}

impl MemoryIO {
    pub fn with_file(mut self, path: impl Into<PathBuf>, content: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), content.into());
        self
    }

    pub fn with_symlink(mut self, path: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Self {
        self.symlinks.insert(path.into(), target.into());
        self
    }

    fn is_dir(&self, path: &Path) -> bool {
        let under = |k: &PathBuf| k.starts_with(path) && k != path;
        self.files.keys().any(under) || self.symlinks.keys().any(under)
    }

    /// `path` with a symlink in its last component followed (for reads).
    fn follow(&self, path: &Path) -> PathBuf {
        follow_last(path, |p| self.symlinks.get(p).cloned())
    }
}

/// `path` with symlinks in its last component followed, `target` telling where a link
/// leads (`None`: not a link); relative targets resolve against the link's directory.
/// Gives up after `MAX_SYMLINK_FOLLOWS` (a loop), where it is.
pub(crate) fn follow_last(path: &Path, target: impl Fn(&Path) -> Option<PathBuf>) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_FOLLOWS {
        match target(&p) {
            Some(t) => {
                p = crate::compiler::canon_path(&p.parent().unwrap_or(Path::new("/")).join(t))
            }
            None => break,
        }
    }
    p
}

fn not_found(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

impl EvalIO for MemoryIO {
    // Each read first serves what this evaluation added to the store (`added_reads`).

    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        if let Some(r) = added_reads::read_file(path) {
            return r;
        }
        let path = self.follow(path);
        self.files
            .get(&path)
            .cloned()
            .ok_or_else(|| not_found(&path))
    }

    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileType)>> {
        if let Some(r) = added_reads::read_dir(path) {
            return r;
        }
        if !self.is_dir(path) {
            return Err(not_found(path));
        }
        let mut out: BTreeMap<String, FileType> = BTreeMap::new();
        for k in self.files.keys() {
            if let Ok(rest) = k.strip_prefix(path) {
                let mut comps = rest.components();
                if let Some(first) = comps.next() {
                    let name = first.as_os_str().to_string_lossy().into_owned();
                    let t = if comps.next().is_some() {
                        FileType::Directory
                    } else {
                        FileType::Regular
                    };
                    out.insert(name, t);
                }
            }
        }
        for k in self.symlinks.keys() {
            if let Some(name) = k
                .strip_prefix(path)
                .ok()
                .filter(|r| r.components().count() == 1)
            {
                out.insert(name.to_string_lossy().into_owned(), FileType::Symlink);
            }
        }
        Ok(out.into_iter().collect())
    }

    fn read_link(&self, path: &Path) -> std::io::Result<PathBuf> {
        if let Some(r) = added_reads::read_link(path) {
            return r;
        }
        self.symlinks
            .get(path)
            .cloned()
            .ok_or_else(|| not_found(path))
    }

    fn file_type(&self, path: &Path) -> std::io::Result<FileType> {
        if let Some(r) = added_reads::file_type(path) {
            return r;
        }
        if self.symlinks.contains_key(path) {
            Ok(FileType::Symlink)
        } else if self.files.contains_key(path) {
            Ok(FileType::Regular)
        } else if self.is_dir(path) {
            Ok(FileType::Directory)
        } else {
            Err(not_found(path))
        }
    }

    fn path_exists(&self, path: &Path) -> bool {
        if let Some(t) = added_reads::file_type(path) {
            return t.is_ok();
        }
        self.files.contains_key(path) || self.symlinks.contains_key(path) || self.is_dir(path)
    }

    fn is_executable(&self, path: &Path) -> bool {
        added_reads::is_executable(path).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_paths_follow_symlinks_and_directories() {
        let io = MemoryIO::default()
            .with_file("/src/pkg/default.nix", "1")
            .with_file("/src/real.nix", "2")
            .with_symlink("/w/link.nix", "../src/real.nix")
            .with_symlink("/w/dirlink", "/src/pkg")
            .with_symlink("/w/chain", "dirlink")
            .with_symlink("/w/loop", "loop");
        let r = |p: &str| resolve_expr_path(&io, Path::new(p));
        assert_eq!(r("/w/link.nix").unwrap(), PathBuf::from("/src/real.nix"));
        assert_eq!(
            r("/w/chain").unwrap(),
            PathBuf::from("/src/pkg/default.nix")
        );
        assert_eq!(
            r("/src/pkg").unwrap(),
            PathBuf::from("/src/pkg/default.nix")
        );
        assert_eq!(
            r("/w/./x/../link.nix").unwrap(),
            PathBuf::from("/src/real.nix")
        );
        assert_eq!(r("/nowhere.nix").unwrap(), PathBuf::from("/nowhere.nix"));
        assert!(r("/w/loop")
            .unwrap_err()
            .contains("too many symbolic links"));
        assert_eq!(io.read_file(Path::new("/w/link.nix")).unwrap(), b"2");
    }

    #[test]
    fn a_dangling_symlink_exists_as_in_cpp_nix() {
        let dir = std::env::temp_dir().join(format!("tvix-io-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("broken");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("nonexistent", &link).unwrap();
        assert!(StdIO.path_exists(&link));
        assert!(!StdIO.path_exists(&dir.join("nonexistent")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
