//! Reading back what this thread's evaluation added to the store. The default EvalIOs
//! keep `toFile` texts and imported sources in memory ([`crate::pending`]) instead of
//! writing them, so they also serve reads of those paths: C++ Nix writes them at once,
//! and `import (builtins.toFile "m.nix" "...")` or `readFile "${./src}/x"` read them
//! back from its store (nixpkgs' module tests import a `toFile` module this way).

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix_compat::nar::tree::NarTree;
use nix_compat::StoreDir;

use crate::io::FileType;
use crate::pending::{thread_default, StoreAddition};

/// What lies at `path`, when `path` is an added store path or below one; `None` when
/// it is not (then the file system, or whatever the EvalIO reads, decides).
fn node(path: &Path) -> Option<io::Result<NarTree>> {
    let pending = thread_default();
    if pending.additions.borrow().is_empty() {
        return None;
    }
    let (sp, sub) = StoreDir::default()
        .parse_with_subpath(path.as_os_str().as_bytes())
        .ok()?;
    let tree = match pending.addition(&sp)? {
        StoreAddition::Text { contents, .. } => NarTree::File {
            executable: false,
            contents,
        },
        StoreAddition::Source { nar, .. } => match NarTree::read_from(&nar[..]) {
            Ok(t) => t,
            Err(e) => return Some(Err(io::Error::other(e.to_string()))),
        },
    };
    let mut at = tree;
    for name in sub.split(|&c| c == b'/').filter(|n| !n.is_empty()) {
        at = match at {
            NarTree::Directory(mut entries) => match entries.remove(name) {
                Some(child) => child,
                None => return Some(Err(not_found(path))),
            },
            _ => return Some(Err(not_found(path))),
        };
    }
    Some(Ok(at))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: No such file or directory", path.display()),
    )
}

/// `path` with symlinks in its last component followed while they lie in added paths
/// (a read follows them, as reading from the store would).
fn follow(path: &Path) -> PathBuf {
    crate::io::follow_last(path, |p| match node(p) {
        Some(Ok(NarTree::Symlink { target })) => {
            Some(PathBuf::from(std::ffi::OsStr::from_bytes(&target)))
        }
        _ => None,
    })
}

pub fn read_file(path: &Path) -> Option<io::Result<Vec<u8>>> {
    Some(match node(&follow(path))? {
        Ok(NarTree::File { contents, .. }) => Ok(contents),
        Ok(_) => Err(io::Error::other(format!(
            "{}: not a regular file",
            path.display()
        ))),
        Err(e) => Err(e),
    })
}

pub fn read_dir(path: &Path) -> Option<io::Result<Vec<(String, FileType)>>> {
    Some(match node(&follow(path))? {
        Ok(NarTree::Directory(entries)) => Ok(entries
            .iter()
            .map(|(name, t)| (String::from_utf8_lossy(name).into_owned(), file_type_of(t)))
            .collect()),
        Ok(_) => Err(io::Error::other(format!(
            "{}: not a directory",
            path.display()
        ))),
        Err(e) => Err(e),
    })
}

/// The type of `path` itself (a symlink is not followed, as lstat).
pub fn file_type(path: &Path) -> Option<io::Result<FileType>> {
    Some(node(path)?.map(|t| file_type_of(&t)))
}

pub fn read_link(path: &Path) -> Option<io::Result<PathBuf>> {
    Some(match node(path)? {
        Ok(NarTree::Symlink { target }) => Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&target))),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a symbolic link", path.display()),
        )),
        Err(e) => Err(e),
    })
}

pub fn is_executable(path: &Path) -> Option<bool> {
    Some(matches!(
        node(path)?,
        Ok(NarTree::File {
            executable: true,
            ..
        })
    ))
}

fn file_type_of(t: &NarTree) -> FileType {
    match t {
        NarTree::File { .. } => FileType::Regular,
        NarTree::Directory(_) => FileType::Directory,
        NarTree::Symlink { .. } => FileType::Symlink,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    /// An imported directory reads back as the NAR it was added as: entries, types,
    /// symlinks followed on read, the executable bit.
    #[test]
    fn an_imported_directory_reads_back() {
        let dir = std::env::temp_dir().join(format!("tvix-added-reads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.nix"), "{ n = 40 + 2; }").unwrap();
        std::fs::write(dir.join("run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("sub/a.nix", dir.join("link")).unwrap();
        let expr = format!(
            r#"let s = "${{{}}}"; in {{
              dir = builtins.readDir s;
              sub = builtins.readDir "${{s}}/sub";
              n = (import "${{s}}/sub/a.nix").n;
              viaLink = builtins.readFile "${{s}}/link";
              type = builtins.readFileType "${{s}}/link";
              gone = builtins.pathExists "${{s}}/sub/b.nix";
            }}"#,
            dir.display()
        );
        let out = crate::eval_to_string(&expr);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            out.unwrap(),
            r#"{ dir = { link = "symlink"; run = "regular"; sub = "directory"; }; gone = false; n = 42; sub = { "a.nix" = "regular"; }; type = "symlink"; viaLink = "{ n = 40 + 2; }"; }"#
        );
    }
}
