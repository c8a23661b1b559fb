//! Helpers shared by the store's integration tests: awkward trees, and running
//! C++ Nix when it is installed.

#![allow(dead_code)]

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// True if `tool` runs; otherwise prints why `test` is skipped.
pub fn have(tool: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping {test}: {tool} (C++ Nix) is not installed");
    }
    ok
}

/// Runs a command and returns its stdout, panicking with its stderr on failure.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub use tvix_castore::test_data::random_bytes;

/// Writes a file with the given permission bits.
pub fn write(path: &Path, data: &[u8], mode: u32) {
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A tree with everything a NAR can hold, and names that sort in surprising ways.
pub fn awkward_tree(root: &Path) {
    fs::create_dir(root).unwrap();
    write(&root.join("empty"), b"", 0o644);
    write(&root.join("exec.sh"), b"#!/bin/sh\necho hi\n", 0o755);
    write(&root.join("owner-exec-only"), b"x", 0o700);
    write(&root.join("group-exec-only"), b"y", 0o654);
    write(
        &root.join("big.bin"),
        &random_bytes(3 * 1024 * 1024 + 7, 11),
        0o644,
    );
    write(&root.join("seven"), b"1234567", 0o644);
    write(&root.join("eight"), b"12345678", 0o644);
    fs::create_dir(root.join("empty-dir")).unwrap();
    symlink("exec.sh", root.join("link-rel")).unwrap();
    symlink("/nonexistent/target", root.join("link-dangling")).unwrap();
    symlink("empty-dir", root.join("link-to-dir")).unwrap();
    let names: &[&[u8]] = &[
        b"A",
        b"B",
        b"a",
        b"a-b",
        b"a.b",
        b"a_b",
        b"ab",
        b"-dash",
        b" space ",
        b"tab\tname",
        b"new\nline",
        "\u{e9}t\u{e9}".as_bytes(),
        "\u{1f600}".as_bytes(),
        b"\xff\xfe-not-utf8",
        b"...",
        b"..a",
        b"=+?",
    ];
    let odd = root.join("odd-names");
    fs::create_dir(&odd).unwrap();
    for (i, n) in names.iter().enumerate() {
        write(
            &odd.join(std::ffi::OsStr::from_bytes(n)),
            n,
            if i % 2 == 0 { 0o644 } else { 0o755 },
        );
    }
    let mut deep = root.join("deep");
    for i in 0..60 {
        deep = deep.join(format!("d{i}"));
    }
    fs::create_dir_all(&deep).unwrap();
    write(&deep.join("bottom"), b"bottom of the tree", 0o644);
}
