//! Helpers for the `tvix store` end-to-end tests: the store's own test helpers (awkward
//! trees, running C++ Nix when it is installed), plus running the tvix binary on a store.

#![allow(dead_code)]

#[path = "../../store/tests/common/mod.rs"]
mod trees;

pub use trees::*;

use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs `tvix store --store redb://DIR ARGS...`.
pub fn tvix(store: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    tvix_at(&format!("redb://{}", store.display()), args)
}

/// Runs `tvix store --store URL ARGS...`.
pub fn tvix_at(url: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tvix"))
        .arg("store")
        .arg("--store")
        .arg(url)
        .args(args)
        .output()
        .expect("spawn tvix")
}

/// Like [`tvix_at`], but insists on success and returns stdout.
pub fn tvix_at_ok(url: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = tvix_at(url, args);
    assert!(
        out.status.success(),
        "tvix store --store {url} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Like [`tvix`], but insists on success and returns stdout.
pub fn tvix_ok(store: &Path, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = tvix(store, args);
    assert!(
        out.status.success(),
        "tvix store {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A tree of many small files and a few larger ones.
pub fn wide_tree(root: &Path, small: usize, large: usize) {
    fs::create_dir_all(root).unwrap();
    for i in 0..small {
        let d = root.join(format!("d{}", i % 37));
        fs::create_dir_all(&d).unwrap();
        write(
            &d.join(format!("f{i}")),
            format!("small file {i}\n").as_bytes(),
            0o644,
        );
    }
    for i in 0..large {
        write(
            &root.join(format!("large{i}")),
            &random_bytes(2 * 1024 * 1024 + i, i as u64 + 1),
            0o644,
        );
    }
}
