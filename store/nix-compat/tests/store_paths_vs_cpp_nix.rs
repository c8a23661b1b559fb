//! Store paths we compute equal those C++ Nix computes for `nix-store --add`,
//! `nix-store --add-fixed [--recursive]` and `builtins.toFile` (with references).

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use nix_compat::hash::{HashAlgo, NixHash};
use nix_compat::nar::dump::dump_path;
use nix_compat::store_path::compute::{
    make_fixed_output_path, make_text_path, FileIngestionMethod,
};
use nix_compat::store_path::{StoreDir, StorePath};

fn nar_of(p: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    dump_path(p, &mut v).unwrap();
    v
}

fn name_of(p: &Path) -> &str {
    p.file_name().unwrap().to_str().unwrap()
}

fn ours(p: &Path, method: FileIngestionMethod, algo: HashAlgo) -> String {
    let data = match method {
        FileIngestionMethod::Flat => fs::read(p).unwrap(),
        FileIngestionMethod::Recursive => nar_of(p),
    };
    let hash = NixHash::digest(algo, &data);
    let sp =
        make_fixed_output_path(&StoreDir::default(), name_of(p), method, &hash, [], false).unwrap();
    StoreDir::default().display(&sp)
}

fn fixture(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let file = tmp.join("hello.txt");
    fs::write(&file, b"hello, world\n").unwrap();
    let exe = tmp.join("tool.sh");
    fs::write(&exe, b"#!/bin/sh\n").unwrap();
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.join("src-dir");
    fs::create_dir_all(dir.join("sub/empty")).unwrap();
    fs::write(dir.join("sub/a"), b"a").unwrap();
    fs::write(dir.join("empty"), b"").unwrap();
    symlink("sub/a", dir.join("link")).unwrap();
    (file, exe, dir)
}

#[test]
fn add_and_add_fixed_match() {
    if !common::have("nix-store", "add_and_add_fixed_match") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (file, exe, dir) = fixture(tmp.path());
    use FileIngestionMethod::*;
    for p in [&file, &exe, &dir] {
        // `nix-store --add` = recursive sha256 (a "source" path).
        let theirs = common::run_str(Command::new("nix-store").arg("--add").arg(p));
        assert_eq!(
            ours(p, Recursive, HashAlgo::Sha256),
            theirs,
            "--add {}",
            p.display()
        );
        for algo in HashAlgo::ALL {
            let theirs = common::run_str(
                Command::new("nix-store")
                    .args(["--add-fixed", "--recursive", algo.name()])
                    .arg(p),
            );
            assert_eq!(
                ours(p, Recursive, algo),
                theirs,
                "--add-fixed --recursive {algo} {}",
                p.display()
            );
        }
    }
    for p in [&file, &exe] {
        for algo in HashAlgo::ALL {
            let theirs = common::run_str(
                Command::new("nix-store")
                    .args(["--add-fixed", algo.name()])
                    .arg(p),
            );
            assert_eq!(
                ours(p, Flat, algo),
                theirs,
                "--add-fixed {algo} {}",
                p.display()
            );
        }
    }
}

#[test]
fn to_file_with_references_matches() {
    if !common::have("nix-instantiate", "to_file_with_references_matches") {
        return;
    }
    let expr = r#"
      let a = builtins.toFile "a" "first";
          b = builtins.toFile "b.txt" "second ${a}";
          c = builtins.toFile "c" "${b} and ${a}\n\ttabs \"quotes\" ünïcode";
      in [ a b c ]
    "#;
    let out = common::run_str(
        Command::new("nix-instantiate").args(["--eval", "--strict", "--json", "-E", expr]),
    );
    let theirs: Vec<String> = serde_json::from_str(&out).unwrap();
    let dir = StoreDir::default();
    let a = make_text_path(&dir, "a", b"first", []).unwrap();
    let b_text = format!("second {}", dir.display(&a));
    let b = make_text_path(&dir, "b.txt", b_text.as_bytes(), [&a]).unwrap();
    let c_text = format!(
        "{} and {}\n\ttabs \"quotes\" ünïcode",
        dir.display(&b),
        dir.display(&a)
    );
    let c = make_text_path(&dir, "c", c_text.as_bytes(), [&b, &a]).unwrap();
    let ours: Vec<String> = [a, b, c]
        .iter()
        .map(|p: &StorePath| dir.display(p))
        .collect();
    assert_eq!(ours, theirs);
}
