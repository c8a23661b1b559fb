//! The NAR rendered from castore is byte-identical to `nix-store --dump`, and the
//! NAR hash computed during ingest equals `nix-hash --type sha256 --base32`.

mod common;

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};
use tvix_castore::{BlobService, DirectoryService, MemoryBlobService, MemoryDirectoryService};
use tvix_store::{ingest_nar, ingest_path, render_nar};

fn check(path: &Path, blobs: &dyn BlobService, dirs: &dyn DirectoryService) {
    let ingested = ingest_path(blobs, dirs, path, b"root").unwrap();
    let mut ours = Vec::new();
    render_nar(blobs, dirs, &ingested.node, &mut ours).unwrap();
    let theirs = common::run(Command::new("nix-store").arg("--dump").arg(path));
    assert!(
        ours == theirs,
        "NAR of {} differs from nix-store --dump",
        path.display()
    );
    assert_eq!(ingested.nar_size, theirs.len() as u64);
    let sha: [u8; 32] = Sha256::digest(&theirs).into();
    assert_eq!(ingested.nar_sha256, sha);
    let nix_hash = common::run(
        Command::new("nix-hash")
            .args(["--type", "sha256", "--base32"])
            .arg(path),
    );
    assert_eq!(
        String::from_utf8(nix_hash).unwrap().trim(),
        nix_compat::nixbase32::encode(&ingested.nar_sha256)
    );
    // The NAR read back in gives the same castore tree and hash.
    let again = ingest_nar(blobs, dirs, &theirs[..], b"root").unwrap();
    assert_eq!(again, ingested);
}

#[test]
fn awkward_tree_matches_nix_store_dump() {
    if !common::have("nix-store", "awkward_tree_matches_nix_store_dump") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    common::awkward_tree(&root);
    let blobs = MemoryBlobService::default();
    let dirs = MemoryDirectoryService::default();
    check(&root, &blobs, &dirs);
    // Single files and symlinks as roots too.
    check(&root.join("exec.sh"), &blobs, &dirs);
    check(&root.join("empty"), &blobs, &dirs);
    check(&root.join("link-dangling"), &blobs, &dirs);
    check(&root.join("empty-dir"), &blobs, &dirs);
}

#[test]
fn awkward_tree_in_redb_store_matches_nix_store_dump() {
    if !common::have(
        "nix-store",
        "awkward_tree_in_redb_store_matches_nix_store_dump",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    common::awkward_tree(&root);
    let db = tvix_castore::DiskBackend::open(&tmp.path().join("s")).unwrap();
    check(&root, &db, &db);
}
