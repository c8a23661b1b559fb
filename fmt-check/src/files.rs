//! Files on disk for `tvix fmt`: which files a set of paths names, and replacing a file
//! so that an interrupted run never leaves it half written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::run::RunError;

/// Explicit files are taken as given; directories are walked (in parallel) for `.nix`
/// files, honouring `.gitignore` even outside a git repository and skipping hidden
/// entries. Files found in directories come out sorted.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunError> {
    let mut files = Vec::new();
    let found = Mutex::new(Vec::new());
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| RunError::Access {
            path: p.clone(),
            source,
        })?;
        if !meta.is_dir() {
            files.push(p.clone());
            continue;
        }
        let walker = ignore::WalkBuilder::new(p)
            .require_git(false)
            .build_parallel();
        walker.run(|| {
            Box::new(|entry| {
                if let Ok(e) = entry {
                    let is_file = e.file_type().is_some_and(|t| t.is_file());
                    if is_file && e.path().extension().is_some_and(|x| x == "nix") {
                        lock(&found).push(e.into_path());
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    found.sort();
    files.extend(found);
    Ok(files)
}

/// A poisoned lock only means another thread panicked; the list itself is still valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Write to a temporary file beside `path` (same directory, so same file system), then
/// rename it over `path`: readers and an interrupted run see the old or the new content,
/// never a mix. The file keeps its permissions.
pub fn write_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path has no file name"))?
        .to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.tvix-fmt.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "tvix-fmt-files-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn collect_walks_nix_files_and_honours_gitignore() {
        let d = scratch("collect");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::create_dir_all(d.join("skip")).unwrap();
        std::fs::create_dir_all(d.join(".hidden")).unwrap();
        for f in [
            "b.nix",
            "a.nix",
            "sub/c.nix",
            "skip/d.nix",
            ".hidden/e.nix",
            "x.txt",
        ] {
            std::fs::write(d.join(f), "1").unwrap();
        }
        std::fs::write(d.join(".gitignore"), "skip/\n").unwrap();
        std::fs::write(d.join("explicit.txt"), "1").unwrap();
        let got = collect(&[d.join("explicit.txt"), d.clone()]).unwrap();
        let want: Vec<PathBuf> = ["explicit.txt", "a.nix", "b.nix", "sub/c.nix"]
            .iter()
            .map(|f| d.join(f))
            .collect();
        assert_eq!(got, want);
        let err = collect(&[d.join("missing")]).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn write_atomically_replaces_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let d = scratch("write");
        let f = d.join("x.nix");
        std::fs::write(&f, "old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&f, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let names: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
        // A target in a directory that does not exist fails cleanly.
        assert!(write_atomically(&d.join("no/such.nix"), "x").is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
