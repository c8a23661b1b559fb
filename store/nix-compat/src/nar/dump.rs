//! Archive a path on disk as a NAR, like `nix-store --dump`. The only part of
//! this crate that touches the file system.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::writer::{self, NarWriteError};

#[derive(Debug, Error)]
pub enum DumpError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} has an unsupported file type (only regular files, directories and symlinks can be archived)")]
    UnsupportedType(PathBuf),
    #[error("while archiving {path}: {source}")]
    Write {
        path: PathBuf,
        source: NarWriteError,
    },
}

/// Write the NAR of `path` (not following a symlink at `path` itself) to `w`.
pub fn dump_path<W: Write>(path: &Path, w: &mut W) -> Result<(), DumpError> {
    let root = writer::open(w).map_err(|source| DumpError::Write {
        path: path.to_owned(),
        source,
    })?;
    dump_node(path, root)
}

/// The NAR hash (sha256) and size of `path`, without keeping the NAR: what
/// `nix-hash --type sha256 PATH` and `nix-store --add` compute.
pub fn nar_hash_path(path: &Path) -> Result<(crate::hash::NixHash, u64), DumpError> {
    let mut h = super::NarHasher::new();
    dump_path(path, &mut h)?;
    Ok(h.finish())
}

fn dump_node<W: Write>(path: &Path, node: writer::Node<'_, W>) -> Result<(), DumpError> {
    let io_err = |source| DumpError::Io {
        path: path.to_owned(),
        source,
    };
    let write_err = |source| DumpError::Write {
        path: path.to_owned(),
        source,
    };
    let meta = fs::symlink_metadata(path).map_err(io_err)?;
    let ft = meta.file_type();
    if ft.is_file() {
        // Nix marks a file executable when its owner may execute it.
        let executable = meta.permissions().mode() & 0o100 != 0;
        let mut f = File::open(path).map_err(io_err)?;
        node.file(executable, meta.len(), &mut f).map_err(write_err)
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(io_err)?;
        node.symlink(target.as_os_str().as_bytes())
            .map_err(write_err)
    } else if ft.is_dir() {
        let mut names = Vec::new();
        for entry in fs::read_dir(path).map_err(io_err)? {
            names.push(entry.map_err(io_err)?.file_name());
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut dir = node.directory().map_err(write_err)?;
        for name in names {
            let child = path.join(&name);
            let entry = dir
                .entry(name.as_bytes())
                .map_err(|source| DumpError::Write {
                    path: child.clone(),
                    source,
                })?;
            dump_node(&child, entry)?;
        }
        dir.close().map_err(write_err)
    } else {
        Err(DumpError::UnsupportedType(path.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nar::tree::NarTree;
    use std::os::unix::fs::symlink;

    #[test]
    fn dumps_a_small_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir(&root).unwrap();
        fs::write(root.join("b"), b"bee").unwrap();
        fs::write(root.join("x"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("x"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("b", root.join("a")).unwrap();
        fs::create_dir(root.join("empty")).unwrap();

        let mut nar = Vec::new();
        dump_path(&root, &mut nar).unwrap();
        let tree = NarTree::read_from(nar.as_slice()).unwrap();
        let NarTree::Directory(entries) = tree else {
            panic!("not a directory")
        };
        let names: Vec<_> = entries.keys().cloned().collect();
        assert_eq!(names, [&b"a"[..], b"b", b"empty", b"x"]);
        assert_eq!(
            entries[&b"a"[..]],
            NarTree::Symlink {
                target: b"b".to_vec()
            }
        );
        assert_eq!(
            entries[&b"x"[..]],
            NarTree::File {
                executable: true,
                contents: b"#!/bin/sh\n".to_vec()
            }
        );
        assert_eq!(
            entries[&b"empty"[..]],
            NarTree::Directory(Default::default())
        );
    }

    #[test]
    fn missing_path_is_a_clear_error() {
        let err =
            dump_path(Path::new("/nonexistent/nix-compat-test"), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/nix-compat-test"));
    }
}
