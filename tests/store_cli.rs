//! `tvix store` end to end: import gives the store path `nix-store --add` gives,
//! export-nar gives the bytes `nix-store --dump` gives, and the other verbs agree.

mod store_common;

use std::ffi::OsStr;
use std::process::Command;

use store_common::{have, run, tvix, tvix_ok};

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
fn import_export_match_cpp_nix() {
    if !have("nix-store", "import_export_match_cpp_nix") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    store_common::awkward_tree(&tree);
    let store = tmp.path().join("store");
    let inputs = [
        tree.clone(),
        tree.join("exec.sh"),
        tree.join("empty"),
        tree.join("link-rel"),
        tree.join("empty-dir"),
    ];
    let mut args: Vec<&OsStr> = vec![os("import")];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    let ours = String::from_utf8(tvix_ok(&store, &args)).unwrap();
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours.len(), inputs.len());
    for (input, path) in inputs.iter().zip(&ours) {
        let theirs = run(Command::new("nix-store").arg("--add").arg(input));
        assert_eq!(
            String::from_utf8(theirs).unwrap().trim(),
            *path,
            "{}",
            input.display()
        );
        let nar = tvix_ok(&store, &[os("export-nar"), os(path)]);
        let dump = run(Command::new("nix-store").arg("--dump").arg(input));
        assert!(
            nar == dump,
            "export-nar of {} differs from nix-store --dump",
            input.display()
        );
        let info = String::from_utf8(tvix_ok(&store, &[os("info"), os(path)])).unwrap();
        let nix_hash = run(Command::new("nix-hash")
            .args(["--type", "sha256", "--base32"])
            .arg(input));
        let nix_hash = String::from_utf8(nix_hash).unwrap();
        assert!(
            info.contains(&format!("NarHash: sha256:{}", nix_hash.trim())),
            "{info}"
        );
        assert!(info.contains(&format!("NarSize: {}", dump.len())), "{info}");
    }
    // ls lists exactly the imported paths, sorted as Nix sorts them.
    let listed = String::from_utf8(tvix_ok(&store, &[os("ls")])).unwrap();
    let mut expected: Vec<&str> = ours.clone();
    expected.sort_by_key(|p| p.rsplit('/').next().unwrap().to_owned());
    assert_eq!(listed.lines().collect::<Vec<_>>(), expected);
    // cat and ls below a store path.
    let root = ours[0];
    let cat = tvix_ok(&store, &[os("cat"), os(&format!("{root}/deep/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30/d31/d32/d33/d34/d35/d36/d37/d38/d39/d40/d41/d42/d43/d44/d45/d46/d47/d48/d49/d50/d51/d52/d53/d54/d55/d56/d57/d58/d59/bottom"))]);
    assert_eq!(cat, b"bottom of the tree");
    let big = tvix_ok(&store, &[os("cat"), os(&format!("{root}/big.bin"))]);
    assert_eq!(big, std::fs::read(tree.join("big.bin")).unwrap());
    let ls = String::from_utf8(tvix_ok(&store, &[os("ls"), os(root)])).unwrap();
    assert!(ls.contains("-r-xr-xr-x           18 exec.sh"), "{ls}");
    assert!(ls.contains("link-rel -> exec.sh"), "{ls}");
    // Errors are errors, not panics.
    let missing = tvix(&store, &[os("cat"), os(&format!("{root}/nope"))]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    let bad = tvix(&store, &[os("info"), os("/nix/store/not-a-path")]);
    assert_eq!(bad.status.code(), Some(1));
    let verify = String::from_utf8(tvix_ok(&store, &[os("verify")])).unwrap();
    assert!(verify.contains(": 0 problems"), "{verify}");
}

#[test]
fn reimport_is_idempotent_and_memory_store_works() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("t");
    store_common::wide_tree(&tree, 50, 1);
    let store = tmp.path().join("store");
    let a = tvix_ok(&store, &[os("import"), tree.as_os_str()]);
    let b = tvix_ok(&store, &[os("import"), tree.as_os_str()]);
    assert_eq!(a, b);
    let mem = Command::new(env!("CARGO_BIN_EXE_tvix"))
        .args(["store", "--store", "memory://", "import"])
        .arg(&tree)
        .output()
        .unwrap();
    assert!(mem.status.success());
    assert_eq!(mem.stdout, a);
}

#[test]
fn argument_forms_named_like_nix_store_add() {
    if !have("nix-store", "argument_forms_named_like_nix_store_add") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir(&cwd).unwrap();
    std::fs::write(cwd.join("file"), "x").unwrap();
    std::os::unix::fs::symlink("file", cwd.join("link")).unwrap();
    let args = [".", "file/", "./file", "link/", "link", "../work"];
    let store = tmp.path().join("store");
    let ours = Command::new(env!("CARGO_BIN_EXE_tvix"))
        .current_dir(&cwd)
        .args(["store", "--store"])
        .arg(format!("redb://{}", store.display()))
        .arg("import")
        .args(args)
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let theirs = run(Command::new("nix-store")
        .current_dir(&cwd)
        .arg("--add")
        .args(args));
    assert_eq!(
        String::from_utf8(ours.stdout).unwrap(),
        String::from_utf8(theirs).unwrap()
    );
}

/// A tree nested 1900 levels deep (about as deep as PATH_MAX lets C++ Nix go):
/// import, export-nar and verify all work through the command, and with stderr
/// not a terminal no progress output appears.
#[test]
fn deep_tree_through_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("deep");
    let mut p = root.clone();
    for _ in 0..1900 {
        p.push("d");
    }
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("f"), b"bottom").unwrap();
    let store = tmp.path().join("store");
    let out = tvix(&store, &[os("import"), root.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "unexpected stderr: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let verify = tvix(&store, &[os("verify")]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        verify.stderr.is_empty(),
        "unexpected stderr: {:?}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let nar = tvix_ok(&store, &[os("export-nar"), os(&path)]);
    if !have(
        "nix-store",
        "deep_tree_through_the_command (comparison part)",
    ) {
        return;
    }
    let dump = run(Command::new("nix-store").arg("--dump").arg(&root));
    assert!(nar == dump, "export-nar differs from nix-store --dump");
    let added = run(Command::new("nix-store").arg("--add").arg(&root));
    assert_eq!(String::from_utf8(added).unwrap().trim(), path);
}
