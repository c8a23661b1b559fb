//! A tree nested far deeper than any recursion budget imports, renders and verifies
//! exactly as C++ Nix sees it: same NAR as `nix-store --dump`, same store path as
//! `nix-store --add`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use tvix_store::Store;

/// Deep as a path on disk can go: `d/` per level must stay under PATH_MAX (4096)
/// even below /nix/store/<hash>-deep, or C++ Nix (which uses whole paths) fails.
const DEPTH: usize = 1900;

fn deep_tree(root: &Path) {
    let mut p = root.to_path_buf();
    for _ in 0..DEPTH {
        p.push("d");
    }
    fs::create_dir_all(&p).unwrap();
    fs::write(p.join("f"), b"at the bottom\n").unwrap();
    std::os::unix::fs::symlink("../../d", p.join("l")).unwrap();
}

#[test]
fn deep_tree_matches_nix_store() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("deep");
    deep_tree(&root);
    let have_nix = common::have("nix-store", "deep_tree_matches_nix_store");

    let r = root.clone();
    // A small stack: recursing once per level would overflow it.
    let (path, ours, problems) = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let store = Store::memory();
            let info = store.import_path(&r).unwrap();
            let mut nar = Vec::new();
            store.export_nar(&info.store_path, &mut nar).unwrap();
            let mut problems = Vec::new();
            store
                .verify(&mut |p| problems.push(format!("{}: {}", p.what, p.error)))
                .unwrap();
            (store.store_dir.display(&info.store_path), nar, problems)
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(problems.is_empty(), "verify found problems: {problems:?}");
    assert!(ours.len() > DEPTH * 100, "NAR too small for the tree");
    if !have_nix {
        return;
    }
    let theirs = common::run(Command::new("nix-store").arg("--dump").arg(&root));
    assert!(ours == theirs, "NAR differs from nix-store --dump");
    let added = common::run(Command::new("nix-store").arg("--add").arg(&root));
    assert_eq!(String::from_utf8(added).unwrap().trim(), path);
}
