//! Hash encodings and conversions agree with `nix-hash` and `nix hash`.

mod common;

use std::process::Command;

use nix_compat::hash::{Encoding, HashAlgo, NixHash};

const INPUTS: [&[u8]; 4] = [b"", b"abc", b"hello, world\n", &[0xff; 1000]];

#[test]
fn flat_hashes_and_conversions_match_nix_hash() {
    if !common::have("nix-hash", "flat_hashes_and_conversions_match_nix_hash") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (i, data) in INPUTS.iter().enumerate() {
        let file = tmp.path().join(format!("in{i}"));
        std::fs::write(&file, data).unwrap();
        for algo in HashAlgo::ALL {
            let ours = NixHash::digest(algo, data);
            // Without a format flag nix-hash prints base16.
            let flat = |fmt: &[&str]| {
                common::run_str(
                    Command::new("nix-hash")
                        .args(["--flat", "--type", algo.name()])
                        .args(fmt)
                        .arg(&file),
                )
            };
            assert_eq!(flat(&["--base32"]), ours.to_nixbase32(), "{algo} base32");
            assert_eq!(flat(&[]), ours.to_base16(), "{algo} base16");
            let to16 = common::run_str(
                Command::new("nix-hash")
                    .args(["--type", algo.name(), "--to-base16"])
                    .arg(ours.to_nixbase32()),
            );
            assert_eq!(to16, ours.to_base16());

            let to32 = common::run_str(
                Command::new("nix-hash")
                    .args(["--type", algo.name(), "--to-base32"])
                    .arg(ours.to_base16()),
            );
            assert_eq!(to32, ours.to_nixbase32());
            // And we parse what Nix printed back to the same hash.
            assert_eq!(NixHash::parse_unprefixed(&to32, algo).unwrap(), ours);
        }
    }
}

#[test]
fn sri_matches_nix_hash_to_sri() {
    if !common::have("nix", "sri_matches_nix_hash_to_sri") {
        return;
    }
    for data in INPUTS {
        for algo in HashAlgo::ALL {
            let ours = NixHash::digest(algo, data);
            let out = Command::new("nix")
                .args([
                    "--extra-experimental-features",
                    "nix-command",
                    "hash",
                    "to-sri",
                ])
                .args(["--type", algo.name()])
                .arg(ours.encode(Encoding::NixBase32, false))
                .output()
                .unwrap();
            if !out.status.success() {
                eprintln!(
                    "skipping sri_matches_nix_hash_to_sri: `nix hash to-sri` is not available"
                );
                return;
            }
            let theirs = String::from_utf8(out.stdout).unwrap();
            assert_eq!(theirs.trim(), ours.to_sri());
            assert_eq!(NixHash::parse_sri(theirs.trim()).unwrap(), ours);
        }
    }
}
