use std::io::{Read, Seek, SeekFrom};

use super::*;
use crate::test_data::random_bytes;
use crate::{DiskBackend, MemoryBlobService};

fn round_trip(svc: &dyn BlobService) {
    for len in [0usize, 1, 1000, MAX_CHUNK * 5 + 17] {
        let data = random_bytes(len, len as u64 + 3);
        let d = svc.put_bytes(&data).unwrap();
        assert_eq!(d, B3Digest::of(&data));
        assert!(svc.has(&d).unwrap());
        assert_eq!(svc.read_to_vec(&d).unwrap(), data);
        svc.verify(&d).unwrap();
    }
    assert!(svc.open_read(&B3Digest::of(b"absent")).unwrap().is_none());
}

#[test]
fn memory_round_trip() {
    round_trip(&MemoryBlobService::default());
}

#[test]
fn disk_round_trip_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let data = random_bytes(3 * MAX_CHUNK, 9);
    let d = {
        let db = DiskBackend::open(&path).unwrap();
        round_trip(&db);
        let d = (&db as &dyn BlobService).put_bytes(&data).unwrap();
        db.sync().unwrap();
        d
    };
    let db = DiskBackend::open(&path).unwrap();
    assert_eq!((&db as &dyn BlobService).read_to_vec(&d).unwrap(), data);
}

#[test]
fn changed_region_stores_only_new_chunks() {
    let mem = MemoryBlobService::default();
    let svc: &dyn BlobService = &mem;
    let mut data = random_bytes(16 * 1024 * 1024, 42);
    let mut w = svc.open_write();
    w.write_all_bytes(&data).unwrap();
    let d1 = w.close().unwrap().digest;
    let before = mem.chunk_count();
    assert!(before >= 16, "16 MiB should give many chunks, got {before}");
    assert_eq!(svc.put_bytes(&data).unwrap(), d1);
    assert_eq!(
        mem.chunk_count(),
        before,
        "the same bytes again added chunks"
    );
    data[8 * 1024 * 1024] ^= 0xff;
    let d2 = svc.put_bytes(&data).unwrap();
    let new = mem.chunk_count() - before;
    assert!(
        (1..=2).contains(&new),
        "a one-byte change added {new} chunks"
    );
    assert_eq!(svc.read_to_vec(&d2).unwrap(), data);
}

#[test]
fn seek_reads_anywhere() {
    let mem = MemoryBlobService::default();
    let svc: &dyn BlobService = &mem;
    let data = random_bytes(4 * MAX_CHUNK + 123, 5);
    let d = svc.put_bytes(&data).unwrap();
    let mut r = svc.open_read(&d).unwrap().unwrap();
    assert_eq!(r.size(), data.len() as u64);
    for &off in &[
        0u64,
        1,
        MAX_CHUNK as u64 - 1,
        3 * MAX_CHUNK as u64 + 7,
        data.len() as u64 - 5,
    ] {
        r.seek(SeekFrom::Start(off)).unwrap();
        let mut buf = [0u8; 5];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[..], &data[off as usize..off as usize + 5]);
    }
    let end = r.seek(SeekFrom::End(-2)).unwrap();
    assert_eq!(end, data.len() as u64 - 2);
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, &data[data.len() - 2..]);
    assert!(r.seek(SeekFrom::Current(-(data.len() as i64) - 1)).is_err());
}

#[test]
fn corrupt_chunk_detected_on_read_and_verify() {
    let mem = MemoryBlobService::default();
    let svc: &dyn BlobService = &mem;
    let data = random_bytes(3 * MAX_CHUNK, 77);
    let d = svc.put_bytes(&data).unwrap();
    let chunks = svc.chunks(&d).unwrap().unwrap();
    let mut bad = data[..chunks[0].size as usize].to_vec();
    bad[10] ^= 1;
    mem.corrupt_chunk_for_test(&chunks[0].digest, bad);
    assert!(matches!(
        svc.read_to_vec(&d),
        Err(Error::Corrupt { kind: "chunk", .. })
    ));
    assert!(matches!(svc.verify(&d), Err(Error::Corrupt { .. })));
    // Reading past the bad chunk still works: only that region is lost.
    let mut r = svc.open_read(&d).unwrap().unwrap();
    r.seek(SeekFrom::Start(chunks[0].size)).unwrap();
    let mut b = [0u8; 4];
    r.read_exact(&mut b).unwrap();
}

#[test]
fn wrong_chunk_list_detected_by_whole_blob_digest() {
    let mem = MemoryBlobService::default();
    let svc: &dyn BlobService = &mem;
    let a = svc.put_bytes(b"hello").unwrap();
    let b = svc.put_bytes(b"world").unwrap();
    // Point blob `a` at `b`'s chunk: every chunk verifies, the blob does not.
    mem.corrupt_chunk_list_for_test(&a, svc.get_chunk_list(&b).unwrap().unwrap());
    assert!(matches!(
        svc.read_to_vec(&a),
        Err(Error::Corrupt { kind: "blob", .. })
    ));
    mem.corrupt_chunk_list_for_test(&a, vec![1, 2, 3]);
    assert!(matches!(svc.read_to_vec(&a), Err(Error::Malformed { .. })));
}

#[test]
fn concurrent_writers_share_a_disk_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = DiskBackend::open(&dir.path().join("s")).unwrap();
    let results: Vec<(B3Digest, Vec<u8>)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4u64)
            .map(|i| {
                let db = &db;
                s.spawn(move || {
                    let svc: &dyn BlobService = db;
                    let data = random_bytes(2 * MAX_CHUNK + i as usize, i + 100);
                    (svc.put_bytes(&data).unwrap(), data)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let svc: &dyn BlobService = &db;
    for (d, data) in results {
        assert_eq!(svc.read_to_vec(&d).unwrap(), data);
    }
}

#[test]
fn small_blob_is_one_chunk_named_like_the_blob() {
    let mem = MemoryBlobService::default();
    let svc: &dyn BlobService = &mem;
    let data = random_bytes(MIN_CHUNK, 1);
    let d = svc.put_bytes(&data).unwrap();
    assert_eq!(
        svc.chunks(&d).unwrap().unwrap(),
        vec![ChunkMeta {
            digest: d,
            size: MIN_CHUNK as u64
        }]
    );
    svc.verify_chunk(&d).unwrap();
}

#[test]
fn disk_writes_survive_a_clean_close_without_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let data = random_bytes(3 * MAX_CHUNK, 4);
    let d = {
        let db = DiskBackend::open(&path).unwrap();
        (&db as &dyn BlobService).put_bytes(&data).unwrap()
    };
    let db = DiskBackend::open(&path).unwrap();
    assert_eq!((&db as &dyn BlobService).read_to_vec(&d).unwrap(), data);
}
