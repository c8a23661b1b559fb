//! narinfo files and signatures written by C++ Nix (`nix copy` to a file://
//! binary cache with a key from `nix-store --generate-binary-cache-key`) parse,
//! print back byte-identical and verify; we derive the same public key from the
//! secret key and make the same signatures; the NARs they point at match their
//! NarHash and NarSize; and the content addresses give back the store paths.

mod common;

use std::fs;
use std::process::Command;

use nix_compat::hash::{HashAlgo, NixHash};
use nix_compat::nar::tree::NarTree;
use nix_compat::narinfo::NarInfo;
use nix_compat::signing::{SigningKey, VerifyingKey};
use nix_compat::store_path::StoreDir;

#[test]
fn narinfo_and_signatures_match_nix() {
    if !common::have("nix-store", "narinfo_and_signatures_match_nix")
        || !common::have("nix", "narinfo_and_signatures_match_nix")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    common::run(
        Command::new("nix-store")
            .args(["--generate-binary-cache-key", "compat-test-1"])
            .arg(t.join("sec"))
            .arg(t.join("pub")),
    );
    let sec_text = fs::read_to_string(t.join("sec")).unwrap();
    let pub_text = fs::read_to_string(t.join("pub")).unwrap();
    let sk: SigningKey = sec_text.trim().parse().unwrap();
    let pk: VerifyingKey = pub_text.trim().parse().unwrap();
    assert_eq!(sk.verifying_key(), pk);
    assert_eq!(sk.to_secret_string(), sec_text.trim());

    fs::write(
        t.join("d.nix"),
        r#"let dep = derivation { name = "ni-dep"; system = "x"; builder = "/bin/sh"; src = builtins.toFile "ni-src" "hello"; };
           in derivation { name = "ni-top"; system = "x"; builder = "/bin/sh"; inherit dep; }"#,
    )
    .unwrap();
    let drv = common::run_str(Command::new("nix-instantiate").arg(t.join("d.nix")));
    let cache = t.join("cache");
    let copied = Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "--option",
            "substituters",
            "",
        ])
        .args(["copy", "--derivation", "--to"])
        .arg(format!(
            "file://{}?secret-key={}&compression=none",
            cache.display(),
            t.join("sec").display()
        ))
        .arg(&drv)
        .output()
        .unwrap();
    if !copied.status.success() {
        eprintln!(
            "skipping narinfo_and_signatures_match_nix: `nix copy` failed: {}",
            String::from_utf8_lossy(&copied.stderr)
        );
        return;
    }

    let dir = StoreDir::default();
    let mut seen = 0;
    let mut with_refs = 0;
    for entry in fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "narinfo") {
            continue;
        }
        seen += 1;
        let text = fs::read_to_string(&path).unwrap();
        let info = NarInfo::parse(&text, &dir).unwrap();
        assert_eq!(info.to_string(&dir), text, "{}", path.display());
        assert_eq!(
            info.count_valid_signatures(&dir, std::slice::from_ref(&pk)),
            1
        );
        // ed25519 is deterministic: our signature is theirs.
        let mut resigned = info.clone();
        resigned.signatures.clear();
        resigned.sign(&dir, &sk);
        assert_eq!(resigned.signatures, info.signatures);
        if !info.references.is_empty() {
            with_refs += 1;
        }

        let nar = fs::read(cache.join(&info.url)).unwrap();
        assert_eq!(nar.len() as u64, info.nar_size);
        assert_eq!(NixHash::digest(HashAlgo::Sha256, &nar), info.nar_hash);
        NarTree::read_from(nar.as_slice()).unwrap();

        let ca = info
            .ca
            .as_ref()
            .expect("text paths carry a content address");
        let self_ref = info.references.contains(&info.store_path);
        let others = info.references.iter().filter(|r| **r != info.store_path);
        assert_eq!(
            ca.store_path(&dir, info.store_path.name(), others, self_ref)
                .unwrap(),
            info.store_path
        );
    }
    // ni-src, ni-dep.drv, ni-top.drv
    assert_eq!(seen, 3);
    assert!(with_refs >= 2);
}
