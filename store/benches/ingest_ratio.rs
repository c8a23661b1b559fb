//! The figure issue 3 asks for, in one run: ingest throughput of a few large files
//! next to plain SHA-256 and plain BLAKE3 over the same bytes, and the ratio of
//! ingest to the slower of the two. Also re-ingest of the unchanged tree (which
//! must store nothing new) and NAR rendering.
//!
//! `cargo bench -p tvix-store --bench ingest_ratio [-- ROUNDS]` (default 5 rounds;
//! the best of each is reported, so a loaded machine shows its quietest moment).
//! Besides wall-clock MiB/s it prints the CPU seconds each run used (all threads),
//! which the load of other processes disturbs much less: ingest CPU / 2 next to
//! the plain hash's CPU is what an idle two-core machine would show.

use std::fs;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tvix_castore::{BlobService, MemoryBlobService, MemoryDirectoryService, RedbBackend};
use tvix_store::{ingest_path, render_nar, Store};

const FILES: u64 = 4;
const FILE_SIZE: usize = 64 << 20;

fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// CPU seconds used by this process so far, all threads (from /proc; 10 ms ticks).
fn cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

#[derive(Clone, Copy)]
struct Best {
    wall: f64,
    cpu: f64,
}

fn measure(rounds: usize, mut f: impl FnMut()) -> Best {
    let mut best = Best {
        wall: f64::MAX,
        cpu: f64::MAX,
    };
    for _ in 0..rounds {
        let (c0, t0) = (cpu_seconds(), Instant::now());
        f();
        let wall = t0.elapsed().as_secs_f64();
        best.wall = best.wall.min(wall);
        best.cpu = best.cpu.min(cpu_seconds() - c0);
    }
    best
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("large");
    fs::create_dir(&root).unwrap();
    let mut all = Vec::new();
    for i in 0..FILES {
        let d = pseudo_random(FILE_SIZE, 2 * i + 1);
        fs::write(root.join(format!("f{i}")), &d).unwrap();
        all.extend_from_slice(&d);
    }
    let mib = all.len() as f64 / (1 << 20) as f64;
    let report = |label: &str, b: Best| {
        println!(
            "{label:32} {:8.0} MiB/s   {:6.3} s wall   {:6.3} s CPU",
            mib / b.wall,
            b.wall,
            b.cpu
        );
    };
    println!(
        "{FILES} files of {} MiB, best of {rounds} rounds",
        FILE_SIZE >> 20
    );

    let sha = measure(rounds, || {
        std::hint::black_box(Sha256::digest(&all));
    });
    report("plain sha256", sha);
    let b3 = measure(rounds, || {
        std::hint::black_box(blake3::hash(&all));
    });
    report("plain blake3", b3);

    let mem = measure(rounds, || {
        let (bl, di) = (
            MemoryBlobService::default(),
            MemoryDirectoryService::default(),
        );
        std::hint::black_box(ingest_path(&bl, &di, &root, b"large").unwrap());
    });
    report("ingest into memory", mem);

    let redb = measure(rounds, || {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open_local(d.path()).unwrap();
        s.import_path(&root).unwrap();
    });
    report("import into redb (durable)", redb);

    let d = tempfile::tempdir().unwrap();
    let store_dir = d.path().join("store");
    let info = Store::open_local(&store_dir)
        .unwrap()
        .import_path(&root)
        .unwrap();
    let chunks_before = RedbBackend::open(&store_dir.join("store.redb"))
        .unwrap()
        .chunk_count()
        .unwrap();
    let reingest = measure(rounds, || {
        Store::open_local(&store_dir)
            .unwrap()
            .import_path(&root)
            .unwrap();
    });
    report("re-import unchanged into redb", reingest);
    let db = RedbBackend::open(&store_dir.join("store.redb")).unwrap();
    let chunks_after = db.chunk_count().unwrap();
    let blobs_after = (&db as &dyn BlobService).list_blobs().unwrap().len();
    drop(db);

    let store = Store::open_local(&store_dir).unwrap();
    let render = measure(rounds, || {
        store
            .export_nar(&info.store_path, &mut std::io::sink())
            .unwrap();
    });
    report("render NAR from redb", render);
    let (bl, di) = (
        MemoryBlobService::default(),
        MemoryDirectoryService::default(),
    );
    let ing = ingest_path(&bl, &di, &root, b"large").unwrap();
    let render_mem = measure(rounds, || {
        render_nar(&bl, &di, &ing.node, &mut std::io::sink()).unwrap();
    });
    report("render NAR from memory", render_mem);

    let slower = sha.wall.max(b3.wall);
    let slower_cpu = sha.cpu.max(b3.cpu);
    println!();
    // Re-import does all the hashing and chunking of an import but stores
    // nothing: it isolates the cost of ingest from that of the backend.
    let ratios = |f: &dyn Fn(Best) -> f64| {
        format!(
            "memory {:.0}%, redb {:.0}%, re-import {:.0}%",
            f(mem),
            f(redb),
            f(reingest)
        )
    };
    println!(
        "ratio to the slower plain hash (wall):            {}",
        ratios(&|b| 100.0 * slower / b.wall)
    );
    println!(
        "ratio on an idle 2-core machine (CPU / 2 vs CPU): {}",
        ratios(&|b| 100.0 * slower_cpu / (b.cpu / 2.0).max(sha.cpu))
    );
    println!(
        "re-import of the unchanged tree: chunks {chunks_before} before, {chunks_after} after \
         ({} new); {blobs_after} blobs",
        chunks_after - chunks_before
    );
    assert_eq!(chunks_before, chunks_after, "re-import stored new chunks");
}
