//! EvalIO: every file access of the evaluator goes through this trait, so the language
//! server can evaluate unsaved buffers, tests can run without a disk, and the builder can
//! take the paths the evaluator would import into the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// Import a path into the store (as `"${./src}"` or `builtins.path` would) and
    /// return the store path. Without a store this is an error.
    /// A derivation the evaluator computed: its store path and ATerm. The default
    /// keeps nothing.
    fn add_derivation(&self, _drv_path: &str, _aterm: &[u8]) {}

    fn import_path(&self, path: &Path) -> Result<String, String> {
        Err(format!(
            "copying '{}' to the store is not built yet in tvix-eval (needs nix-compat)",
            path.display()
        ))
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
    fn import_path(&self, path: &Path) -> Result<String, String> {
        compute_import_path(path)
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileType)>> {
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
        Ok(ft(std::fs::symlink_metadata(path)?.file_type()))
    }

    fn path_exists(&self, path: &Path) -> bool {
        std::fs::metadata(path).is_ok()
    }
}

/// An in-memory file system, for tests and unsaved editor buffers.
#[derive(Default, Clone)]
pub struct MemoryIO {
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemoryIO {
    pub fn with_file(mut self, path: impl Into<PathBuf>, content: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), content.into());
        self
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.files.keys().any(|k| k.starts_with(path) && k != path)
    }
}

fn not_found(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

impl EvalIO for MemoryIO {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.files.get(path).cloned().ok_or_else(|| not_found(path))
    }

    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<(String, FileType)>> {
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
        Ok(out.into_iter().collect())
    }

    fn file_type(&self, path: &Path) -> std::io::Result<FileType> {
        if self.files.contains_key(path) {
            Ok(FileType::Regular)
        } else if self.is_dir(path) {
            Ok(FileType::Directory)
        } else {
            Err(not_found(path))
        }
    }

    fn path_exists(&self, path: &Path) -> bool {
        self.files.contains_key(path) || self.is_dir(path)
    }
}
