//! Ingest and render throughput, next to the plain hashes that bound it.
//!
//! `cargo bench -p tvix-store --bench ingest`. Groups:
//! - `large`: 64 MiB in 4 files: plain SHA-256, plain BLAKE3, ingest into memory
//!   and into redb, NAR render.
//! - `small`: 2000 small files: ingest into redb, re-ingest unchanged.

use std::fs;
use std::path::Path;
use tvix_castore::test_data::random_bytes;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sha2::{Digest, Sha256};
use tvix_castore::{MemoryBlobService, MemoryDirectoryService};
use tvix_store::{ingest_path, render_nar, Store};

fn large(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("large");
    fs::create_dir(&root).unwrap();
    let mut all = Vec::new();
    for i in 0..4 {
        let d = random_bytes(16 << 20, 2 * i + 1);
        fs::write(root.join(format!("f{i}")), &d).unwrap();
        all.extend_from_slice(&d);
    }
    let mut g = c.benchmark_group("large");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(all.len() as u64));
    g.bench_function("sha256", |b| b.iter(|| Sha256::digest(&all)));
    g.bench_function("blake3", |b| b.iter(|| blake3::hash(&all)));
    g.bench_function("ingest_memory", |b| {
        b.iter_batched(
            || {
                (
                    MemoryBlobService::default(),
                    MemoryDirectoryService::default(),
                )
            },
            |(bl, di)| ingest_path(&bl, &di, &root, b"large").unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("ingest_redb", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().unwrap();
                let s = Store::open_local(d.path()).unwrap();
                (d, s)
            },
            |(_d, s)| s.import_path(&root).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let bl = MemoryBlobService::default();
    let di = MemoryDirectoryService::default();
    let ing = ingest_path(&bl, &di, &root, b"large").unwrap();
    g.bench_function("render_nar", |b| {
        b.iter(|| render_nar(&bl, &di, &ing.node, &mut std::io::sink()).unwrap())
    });
    g.finish();
}

fn small_tree(root: &Path, n: usize) {
    for i in 0..n {
        let d = root.join(format!("d{}", i % 50));
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join(format!("f{i}")),
            random_bytes(100 + i % 4000, i as u64),
        )
        .unwrap();
    }
}

fn small(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("small");
    small_tree(&root, 2000);
    let mut g = c.benchmark_group("small");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2000));
    g.bench_function("ingest_redb", |b| {
        b.iter_batched(
            || {
                let d = tempfile::tempdir().unwrap();
                let s = Store::open_local(d.path()).unwrap();
                (d, s)
            },
            |(_d, s)| s.import_path(&root).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let d = tempfile::tempdir().unwrap();
    let s = Store::open_local(d.path()).unwrap();
    s.import_path(&root).unwrap();
    g.bench_function("reingest_unchanged_redb", |b| {
        b.iter(|| s.import_path(&root).unwrap())
    });
    g.finish();
}

criterion_group!(benches, large, small);
criterion_main!(benches);
