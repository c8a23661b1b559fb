//! Property tests: any tree ingested into castore renders back to exactly the NAR
//! that nix-compat's dump writes for it, and NAR ingest agrees with path ingest.

mod common;

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tvix_castore::{MemoryBlobService, MemoryDirectoryService};
use tvix_store::{ingest_nar, ingest_path, render_nar};

#[derive(Debug, Clone)]
enum Tree {
    File(Vec<u8>, bool),
    Link(Vec<u8>),
    Dir(Vec<(Vec<u8>, Tree)>),
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b'B'),
                Just(b'.'),
                Just(b'-'),
                Just(0xffu8),
                Just(b' ')
            ],
            1..4
        ),
        "[a-z]{1,6}".prop_map(|s| s.into_bytes()),
    ]
    .prop_filter("valid name", |n| n != b"." && n != b"..")
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        (
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<bool>()
        )
            .prop_map(|(d, x)| Tree::File(d, x)),
        (1usize..4, any::<u64>())
            .prop_map(|(k, s)| Tree::File(common::random_bytes(k * 300_000, s), false)),
        "[a-z/.]{1,10}".prop_map(|t| Tree::Link(t.into_bytes())),
    ];
    leaf.prop_recursive(4, 24, 6, |inner| {
        proptest::collection::btree_map(name(), inner, 0..6)
            .prop_map(|m| Tree::Dir(m.into_iter().collect()))
    })
}

fn materialise(path: &Path, t: &Tree) {
    match t {
        Tree::File(d, x) => {
            fs::write(path, d).unwrap();
            fs::set_permissions(
                path,
                fs::Permissions::from_mode(if *x { 0o755 } else { 0o644 }),
            )
            .unwrap();
        }
        Tree::Link(target) => symlink(std::ffi::OsStr::from_bytes(target), path).unwrap(),
        Tree::Dir(entries) => {
            fs::create_dir(path).unwrap();
            for (n, c) in entries {
                materialise(&path.join(std::ffi::OsStr::from_bytes(n)), c);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn ingest_then_render_is_the_nar(t in tree()) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("t");
        materialise(&root, &t);
        let blobs = MemoryBlobService::default();
        let dirs = MemoryDirectoryService::default();
        let ingested = ingest_path(&blobs, &dirs, &root, b"t").unwrap();
        let mut rendered = Vec::new();
        render_nar(&blobs, &dirs, &ingested.node, &mut rendered).unwrap();
        let mut dumped = Vec::new();
        nix_compat::nar::dump::dump_path(&root, &mut dumped).unwrap();
        prop_assert!(rendered == dumped, "rendered NAR differs from the dump");
        prop_assert_eq!(ingested.nar_size, dumped.len() as u64);
        let sha: [u8; 32] = Sha256::digest(&dumped).into();
        prop_assert_eq!(ingested.nar_sha256, sha);
        let from_nar = ingest_nar(&blobs, &dirs, &dumped[..], b"t").unwrap();
        prop_assert_eq!(from_nar, ingested);
    }
}

#[test]
fn malformed_nar_is_an_error_not_a_panic() {
    let blobs = MemoryBlobService::default();
    let dirs = MemoryDirectoryService::default();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    materialise(
        &root,
        &Tree::Dir(vec![(b"f".to_vec(), Tree::File(b"hello".to_vec(), false))]),
    );
    let mut nar = Vec::new();
    nix_compat::nar::dump::dump_path(&root, &mut nar).unwrap();
    for cut in [0, 8, nar.len() / 2, nar.len() - 1] {
        assert!(
            ingest_nar(&blobs, &dirs, &nar[..cut], b"t").is_err(),
            "cut at {cut}"
        );
    }
    let mut flipped = nar.clone();
    flipped[20] ^= 0x55;
    assert!(ingest_nar(&blobs, &dirs, &flipped[..], b"t").is_err());
}

/// A NAR of directories nested `depth` deep, written token by token.
fn nested_nar(depth: usize) -> Vec<u8> {
    fn tok(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s);
        out.resize(out.len() + (8 - s.len() % 8) % 8, 0);
    }
    let mut out = Vec::new();
    for t in [&b"nix-archive-1"[..], b"(", b"type", b"directory"] {
        tok(&mut out, t);
    }
    for _ in 0..depth {
        for t in [
            &b"entry"[..],
            b"(",
            b"name",
            b"d",
            b"node",
            b"(",
            b"type",
            b"directory",
        ] {
            tok(&mut out, t);
        }
    }
    for _ in 0..depth {
        tok(&mut out, b")");
        tok(&mut out, b")");
    }
    tok(&mut out, b")");
    out
}

/// Runs `f` on a thread with a small stack: a walk that recursed once per level
/// would overflow it long before the depths used here.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nar_ingests_and_renders_without_recursion() {
    on_small_stack(|| {
        let blobs = MemoryBlobService::default();
        let dirs = MemoryDirectoryService::default();
        let nar = nested_nar(3000);
        let ok = ingest_nar(&blobs, &dirs, &nar[..], b"t").unwrap();
        assert_eq!(ok.nar_size, nar.len() as u64);
        let mut out = Vec::new();
        render_nar(&blobs, &dirs, &ok.node, &mut out).unwrap();
        assert!(out == nar, "rendered NAR differs from the one ingested");
    });
}

#[test]
fn nar_nesting_beyond_the_sanity_limit_is_refused() {
    on_small_stack(|| {
        let blobs = MemoryBlobService::default();
        let dirs = MemoryDirectoryService::default();
        let limit = tvix_store::MAX_NAR_DEPTH;
        let err = ingest_nar(&blobs, &dirs, &nested_nar(limit + 1)[..], b"t").unwrap_err();
        assert!(
            matches!(err, tvix_store::Error::TooDeep(l) if l == limit),
            "{err}"
        );
        assert!(
            err.to_string().contains("deeper than 100000 levels"),
            "{err}"
        );
        // At the limit itself it is accepted.
        ingest_nar(&blobs, &dirs, &nested_nar(limit)[..], b"t").unwrap();
    });
}
