//! The Store facade on the redb backend: concurrent writers, re-import writing
//! nothing new, NAR import, and verify catching a wrong path info.

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use tvix_castore::DiskBackend;
use tvix_store::{PathInfo, Store};

fn tree(root: &std::path::Path, n: usize, seed: u64) {
    fs::create_dir_all(root.join("sub")).unwrap();
    for i in 0..n {
        fs::write(
            root.join(format!("f{i}")),
            format!("file {i} of tree {seed}"),
        )
        .unwrap();
    }
    fs::write(
        root.join("sub/large"),
        common::random_bytes(2_500_000, seed),
    )
    .unwrap();
    symlink("../f0", root.join("sub/link")).unwrap();
}

fn nar(path: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    nix_compat::nar::dump::dump_path(path, &mut out).unwrap();
    out
}

#[test]
fn concurrent_writer_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open_local(&tmp.path().join("store")).unwrap();
    let roots: Vec<_> = (0..4u64)
        .map(|i| {
            let r = tmp.path().join(format!("t{i}"));
            tree(&r, 40, i);
            r
        })
        .collect();
    let infos: Vec<PathInfo> = std::thread::scope(|s| {
        let hs: Vec<_> = roots
            .iter()
            .map(|r| {
                let store = &store;
                // Each tree twice, so threads also race on the same content.
                s.spawn(move || {
                    store.import_path(r).unwrap();
                    store.import_path(r).unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut problems = Vec::new();
    store.verify(&mut |p| problems.push(p)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    for (r, info) in roots.iter().zip(&infos) {
        let mut out = Vec::new();
        store.export_nar(&info.store_path, &mut out).unwrap();
        assert!(out == nar(r));
    }
    assert_eq!(store.paths.list().unwrap().len(), 4);
}

#[test]
fn reimport_of_unchanged_tree_writes_no_new_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("store");
    let root = tmp.path().join("t");
    tree(&root, 30, 7);
    let first = {
        let store = Store::open_local(&data_dir).unwrap();
        store.import_path(&root).unwrap()
    };
    let count = || DiskBackend::open(&data_dir).unwrap().chunk_count().unwrap();
    let before = count();
    let second = Store::open_local(&data_dir)
        .unwrap()
        .import_path(&root)
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(count(), before);
}

#[test]
fn nar_import_and_wrong_path_info_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    tree(&root, 5, 3);
    let store = Store::memory();
    let from_fs = store.import_path(&root).unwrap();
    let from_nar = store.import_nar("t", &nar(&root)[..]).unwrap();
    assert_eq!(from_fs, from_nar);

    // A path info whose NAR hash does not match its contents is reported.
    let mut wrong = from_fs.clone();
    wrong.nar_sha256[0] ^= 1;
    store.paths.put(&wrong).unwrap();
    let mut problems = Vec::new();
    store.verify(&mut |p| problems.push(p)).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].error.to_string().contains("mismatch"));
}

#[test]
fn bad_inputs_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::memory();
    assert!(store.import_path(&tmp.path().join("missing")).is_err());
    let bad_name = tmp.path().join("has space");
    fs::write(&bad_name, "x").unwrap();
    assert!(matches!(
        store.import_path(&bad_name),
        Err(tvix_store::Error::InvalidStorePath { .. })
    ));
    let fifo = tmp.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let dir = tmp.path().join("withfifo");
    fs::create_dir(&dir).unwrap();
    fs::rename(&fifo, dir.join("fifo")).unwrap();
    assert!(matches!(
        store.import_path(&dir),
        Err(tvix_store::Error::UnsupportedFileType { .. })
    ));
    assert!(store.parse_path("/tmp/x").is_err());
    assert!(matches!(
        store.lookup("/nix/store/00bgd045z0d4icpbc2yyz4gx48ak44la-absent"),
        Err(tvix_store::Error::PathNotFound(_))
    ));
}

/// A blob service that cannot store anything.
struct FullDisk;

impl tvix_castore::BlobService for FullDisk {
    fn get_chunk(
        &self,
        _: &tvix_castore::B3Digest,
    ) -> Result<Option<Vec<u8>>, tvix_castore::Error> {
        Ok(None)
    }
    fn has_chunk(&self, _: &tvix_castore::B3Digest) -> Result<bool, tvix_castore::Error> {
        Ok(false)
    }
    fn put_chunks(&self, _: &tvix_castore::ChunkBatch) -> Result<(), tvix_castore::Error> {
        Err(std::io::Error::other("disk full").into())
    }
    fn get_chunk_list(
        &self,
        _: &tvix_castore::B3Digest,
    ) -> Result<Option<Vec<u8>>, tvix_castore::Error> {
        Ok(None)
    }
    fn put_chunk_list(
        &self,
        _: &tvix_castore::B3Digest,
        _: Vec<u8>,
    ) -> Result<(), tvix_castore::Error> {
        Err(std::io::Error::other("disk full").into())
    }
    fn list_blobs(&self) -> Result<Vec<tvix_castore::B3Digest>, tvix_castore::Error> {
        Ok(vec![])
    }
    fn list_chunks(&self) -> Result<Vec<tvix_castore::B3Digest>, tvix_castore::Error> {
        Ok(vec![])
    }
}

#[test]
fn storage_failure_during_ingest_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    tree(&root, 300, 1);
    let dirs = tvix_castore::MemoryDirectoryService::default();
    let err = tvix_store::ingest_path(&FullDisk, &dirs, &root, b"t").unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
}

#[test]
fn import_and_verify_report_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    tree(&root, 5, 3);
    let store = Store::memory();
    let (mut files, mut bytes, mut calls) = (0, 0, 0);
    store
        .import_path_observed(&root, &mut |f, b| {
            files += f;
            bytes += b;
            calls += 1;
        })
        .unwrap();
    // Five small files and the large one; symlinks and directories are not files.
    assert_eq!(files, 6);
    // The large file is reported as it is read, not only at its end: one call
    // per file done, one per small file's bytes, two or more for the large one's.
    assert!(calls >= 6 + 5 + 2, "only {calls} progress calls");
    let expected: u64 = (0..5)
        .map(|i| format!("file {i} of tree 3").len() as u64)
        .sum::<u64>()
        + 2_500_000;
    assert_eq!(bytes, expected);

    let mut steps = Vec::new();
    let counts = store
        .verify_observed(
            &mut |p| panic!("unexpected problem: {}", p.what),
            &mut |s| steps.push(s),
        )
        .unwrap();
    for (phase, n) in [
        ("chunks", counts.chunks),
        ("blobs", counts.blobs),
        ("directories", counts.directories),
        ("store paths", counts.paths),
    ] {
        let done: Vec<usize> = steps
            .iter()
            .filter(|s| s.phase == phase)
            .inspect(|s| assert_eq!(s.total, n, "{phase}"))
            .map(|s| s.done)
            .collect();
        assert_eq!(done, (0..n).collect::<Vec<_>>(), "{phase}");
    }
    assert_eq!(counts.paths, 1);
    assert_eq!(counts.directories, 2);
}
