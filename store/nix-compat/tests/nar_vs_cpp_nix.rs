//! Our NAR of a tree is byte-identical to `nix-store --dump`, and its hash equals
//! `nix-hash --type sha256 --base32`.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use nix_compat::hash::{HashAlgo, NixHash};
use nix_compat::nar::dump::{dump_path, nar_hash_path};
use nix_compat::nar::tree::NarTree;

fn exe(p: &Path, contents: &[u8]) {
    fs::write(p, contents).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A tree exercising every node kind and the awkward cases.
fn build_tree(root: &Path) {
    fs::create_dir(root).unwrap();
    fs::write(root.join("empty-file"), b"").unwrap();
    fs::create_dir(root.join("empty-dir")).unwrap();
    exe(&root.join("run.sh"), b"#!/bin/sh\necho hi\n");
    exe(&root.join("empty-exe"), b"");
    fs::write(root.join("eight"), b"12345678").unwrap();
    fs::write(root.join("nine"), b"123456789").unwrap();
    fs::write(
        root.join("big"),
        (0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    symlink("run.sh", root.join("link-rel")).unwrap();
    symlink("/etc/passwd", root.join("link-abs")).unwrap();
    symlink("does/not/exist", root.join("link-dangling")).unwrap();
    symlink("empty-dir", root.join("link-to-dir")).unwrap();
    for name in [
        "ünïcödé ☃",
        "with space",
        "new\nline",
        "-dash",
        "B",
        "a",
        "a.b",
        "a-b",
        "á",
        "~tilde",
        "#hash",
        "quote\"s",
        "back\\slash",
        "日本語",
    ] {
        fs::write(root.join(name), name.as_bytes()).unwrap();
    }
    // A name that is not UTF-8.
    fs::write(root.join(OsStr::from_bytes(b"bytes-\xff\xfe")), b"raw").unwrap();
    // Deep nesting, with something at the bottom.
    let mut deep = root.join("deep");
    for i in 0..60 {
        deep = deep.join(format!("d{i}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("bottom"), b"down here").unwrap();
    symlink("../../..", deep.join("up")).unwrap();
}

fn check_path(path: &Path) {
    let ours = {
        let mut v = Vec::new();
        dump_path(path, &mut v).unwrap();
        v
    };
    let theirs = common::run(Command::new("nix-store").arg("--dump").arg(path));
    assert!(
        ours == theirs,
        "NAR of {} differs from nix-store --dump",
        path.display()
    );

    let our_hash = NixHash::digest(HashAlgo::Sha256, &ours).to_nixbase32();
    let their_hash = common::run_str(
        Command::new("nix-hash")
            .args(["--type", "sha256", "--base32"])
            .arg(path),
    );
    assert_eq!(our_hash, their_hash, "NAR hash of {}", path.display());
    let (streamed, size) = nar_hash_path(path).unwrap();
    assert_eq!(streamed.to_nixbase32(), their_hash);
    assert_eq!(size, theirs.len() as u64);

    // And the reader accepts exactly what Nix wrote, and writes it back unchanged.
    let tree = NarTree::read_from(theirs.as_slice()).unwrap();
    assert_eq!(tree.to_nar().unwrap(), theirs);
}

#[test]
fn nar_matches_nix_store_dump() {
    if !common::have("nix-store", "nar_matches_nix_store_dump") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    build_tree(&root);
    check_path(&root);
    // Single files and symlinks at the root, too.
    check_path(&root.join("run.sh"));
    check_path(&root.join("empty-file"));
    check_path(&root.join("big"));
    check_path(&root.join("link-rel"));
    check_path(&root.join("empty-dir"));
}
