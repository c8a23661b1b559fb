//! Faults: corruption on disk is caught on read and by `verify`; a store process
//! killed with SIGKILL mid-import leaves a store that opens, verifies, and holds
//! no incomplete path; concurrent writers do not corrupt the store.

mod store_common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use store_common::{tvix, tvix_ok};

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn nar_of(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    nix_compat::nar::dump::dump_path(path, &mut out).unwrap();
    out
}

/// Every listed path exports to the NAR of one of `trees`: nothing incomplete.
fn assert_consistent(store: &Path, trees: &[&Path]) -> usize {
    let verify = tvix(store, &[os("verify")]);
    assert!(
        verify.status.success(),
        "verify failed: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let nars: Vec<Vec<u8>> = trees.iter().map(|t| nar_of(t)).collect();
    let listed = String::from_utf8(tvix_ok(store, &[os("ls")])).unwrap();
    for p in listed.lines() {
        let nar = tvix_ok(store, &[os("export-nar"), os(p)]);
        assert!(
            nars.contains(&nar),
            "{p} does not export to a complete tree"
        );
    }
    listed.lines().count()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn corrupt_blob_on_disk_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let file = tmp.path().join("victim");
    // Under the minimum chunk size, so it is one chunk stored whole.
    let mut data = store_common::random_bytes(40_000, 99);
    let marker = b"@@TVIX-CORRUPTION-MARKER@@";
    data[20_000..20_000 + marker.len()].copy_from_slice(marker);
    std::fs::write(&file, &data).unwrap();
    let out = String::from_utf8(tvix_ok(&store, &[os("import"), file.as_os_str()])).unwrap();
    let path = out.trim().to_owned();
    assert_consistent(&store, &[&file]);

    // Wherever the store keeps chunk data, flip a bit of the marker in place.
    let mut hits = 0;
    for file in files_under(&store) {
        let mut bytes = std::fs::read(&file).unwrap();
        let at: Vec<usize> = bytes
            .windows(marker.len())
            .enumerate()
            .filter(|(_, w)| *w == marker)
            .map(|(i, _)| i)
            .collect();
        for &i in &at {
            bytes[i + 2] ^= 0x20;
        }
        if !at.is_empty() {
            hits += at.len();
            std::fs::write(&file, &bytes).unwrap();
        }
    }
    assert!(hits > 0, "blob bytes not found in the store's files");

    let cat = tvix(&store, &[os("cat"), os(&path)]);
    assert_eq!(cat.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&cat.stderr).contains("corrupt"),
        "{}",
        String::from_utf8_lossy(&cat.stderr)
    );
    let export = tvix(&store, &[os("export-nar"), os(&path)]);
    assert_eq!(export.status.code(), Some(1));
    let verify = tvix(&store, &[os("verify")]);
    assert_eq!(verify.status.code(), Some(1));
    let report = String::from_utf8_lossy(&verify.stderr);
    assert!(report.contains("corrupt: chunk"), "{report}");
    assert!(report.contains(&path), "{report}");
}

#[test]
fn sigkill_during_import_leaves_a_consistent_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    store_common::wide_tree(&a, 1500, 3);
    store_common::wide_tree(&b, 1200, 4);
    // Large enough that some kills land while chunk data is going to the packs.
    std::fs::write(b.join("large"), store_common::random_bytes(24 << 20, 7)).unwrap();
    // A path imported before the crashes must survive them untouched.
    tvix_ok(&store, &[os("import"), a.as_os_str()]);
    let mut killed = 0;
    for ms in [5u64, 20, 40, 80, 150, 300, 600, 1000] {
        let tree = &b;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tvix"))
            .args(["store", "--store"])
            .arg(format!("redb://{}", store.display()))
            .arg("import")
            .arg(tree)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        assert!(assert_consistent(&store, &[&a, &b]) >= 1);
    }
    eprintln!("{killed} of 8 imports were killed mid-way");
    assert!(
        killed > 0,
        "no import was interrupted; the test proves nothing"
    );
    // Finishing both imports afterwards works, and the store is complete.
    tvix_ok(&store, &[os("import"), a.as_os_str(), b.as_os_str()]);
    assert_eq!(assert_consistent(&store, &[&a, &b]), 2);
}

#[test]
fn concurrent_importing_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let trees: Vec<_> = (0..4)
        .map(|i| {
            let t = tmp.path().join(format!("t{i}"));
            store_common::wide_tree(&t, 200 + i * 10, 1);
            t
        })
        .collect();
    let children: Vec<_> = trees
        .iter()
        .map(|t| {
            Command::new(env!("CARGO_BIN_EXE_tvix"))
                .args(["store", "--store"])
                .arg(format!("redb://{}", store.display()))
                .arg("import")
                .arg(t)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let refs: Vec<&Path> = trees.iter().map(|t| t.as_path()).collect();
    assert_eq!(assert_consistent(&store, &refs), 4);
}

#[test]
fn a_store_held_by_another_process_fails_cleanly_then_works() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let tree = tmp.path().join("t");
    store_common::wide_tree(&tree, 50, 1);
    tvix_ok(&store, &[os("import"), tree.as_os_str()]);
    let other = tmp.path().join("u");
    store_common::wide_tree(&other, 60, 1);

    // This test process holds the database, as a long import would.
    let held = tvix_castore::DiskBackend::open(&store).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tvix"))
        .env("TVIX_STORE_BUSY_WAIT", "1")
        .args(["store", "--store"])
        .arg(format!("redb://{}", store.display()))
        .arg("import")
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another process"), "{err}");

    // Released within the default wait: an import that started waiting succeeds.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(held);
    });
    let waiting = Command::new(env!("CARGO_BIN_EXE_tvix"))
        .args(["store", "--store"])
        .arg(format!("redb://{}", store.display()))
        .arg("import")
        .arg(&other)
        .output()
        .unwrap();
    release.join().unwrap();
    assert!(
        waiting.status.success(),
        "{}",
        String::from_utf8_lossy(&waiting.stderr)
    );
    assert_eq!(assert_consistent(&store, &[&tree, &other]), 2);
}
