use std::fs::{self, OpenOptions};
use std::io::Write;

use super::*;
use crate::blob::MAX_CHUNK;
use crate::test_data::random_bytes;

fn pack_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join("packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn chunk_data_lives_in_packs_not_in_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let data = random_bytes(3 * MAX_CHUNK, 1);
    let db = DiskBackend::open(tmp.path()).unwrap();
    let svc: &dyn BlobService = &db;
    let d = svc.put_bytes(&data).unwrap();
    db.sync().unwrap();
    let packs = pack_files(tmp.path());
    assert_eq!(packs.len(), 1);
    assert_eq!(fs::metadata(&packs[0]).unwrap().len(), data.len() as u64);
    let in_db = fs::read(tmp.path().join(DATABASE)).unwrap();
    assert!(!in_db.windows(64).any(|w| w == &data[1000..1064]));
    assert_eq!(svc.read_to_vec(&d).unwrap(), data);
    // Storing it again appends nothing.
    svc.put_bytes(&data).unwrap();
    db.sync().unwrap();
    assert_eq!(fs::metadata(&packs[0]).unwrap().len(), data.len() as u64);
}

#[test]
fn uncommitted_tails_and_packs_are_dropped_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let data = random_bytes(2 * MAX_CHUNK, 2);
    let d = {
        let db = DiskBackend::open(tmp.path()).unwrap();
        (&db as &dyn BlobService).put_bytes(&data).unwrap()
    };
    // What a process killed after writing chunk data but before its commit
    // leaves: a longer pack, and a pack the database never heard of.
    let pack = pack_files(tmp.path()).remove(0);
    let committed = fs::metadata(&pack).unwrap().len();
    OpenOptions::new()
        .append(true)
        .open(&pack)
        .unwrap()
        .write_all(b"half a chunk")
        .unwrap();
    fs::write(tmp.path().join("packs/00000007.pack"), b"orphan").unwrap();

    let db = DiskBackend::open(tmp.path()).unwrap();
    assert_eq!(pack_files(tmp.path()), vec![pack.clone()]);
    assert_eq!(fs::metadata(&pack).unwrap().len(), committed);
    let svc: &dyn BlobService = &db;
    assert_eq!(svc.read_to_vec(&d).unwrap(), data);
    // New data goes right after the committed bytes and reads back.
    let more = random_bytes(1000, 3);
    let d2 = svc.put_bytes(&more).unwrap();
    db.sync().unwrap();
    assert_eq!(
        fs::metadata(&pack).unwrap().len(),
        committed + more.len() as u64
    );
    assert_eq!(svc.read_to_vec(&d2).unwrap(), more);
}

#[test]
fn a_truncated_pack_is_reported_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let data = random_bytes(MAX_CHUNK, 4);
    let d = {
        let db = DiskBackend::open(tmp.path()).unwrap();
        (&db as &dyn BlobService).put_bytes(&data).unwrap()
    };
    let pack = pack_files(tmp.path()).remove(0);
    // Shorter than the database says: opening leaves it, reads fail clearly.
    OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(100)
        .unwrap();
    let db = DiskBackend::open(tmp.path()).unwrap();
    let svc: &dyn BlobService = &db;
    let err = svc.read_to_vec(&d).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("does not hold bytes"), "{err}");
    assert!(svc.verify_chunk(&d).is_err());
}

#[test]
fn a_store_in_the_old_layout_gives_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    {
        // Format 1 kept chunk data in this table and had no version.
        let old: Table = TableDefinition::new("castore_chunks");
        let db = Database::create(tmp.path().join(DATABASE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(old)
            .unwrap()
            .insert(&[1u8; 32][..], &b"data"[..])
            .unwrap();
        txn.commit().unwrap();
    }
    let err = DiskBackend::open(tmp.path()).err().expect("must not open");
    assert!(matches!(err, Error::UnsupportedFormat { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("version 1") && msg.contains("new store"),
        "{msg}"
    );
}

#[test]
fn a_full_pack_is_followed_by_a_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let db = DiskBackend::open(tmp.path()).unwrap();
    let blob = random_bytes(5000, 5);
    let d = (&db as &dyn BlobService).put_bytes(&blob).unwrap();
    db.sync().unwrap();
    // Make the active pack look full: the next append must start pack 1.
    db.state().packs.force_full_for_test();
    let blob2 = random_bytes(6000, 6);
    let d2 = (&db as &dyn BlobService).put_bytes(&blob2).unwrap();
    db.sync().unwrap();
    drop(db);
    assert_eq!(pack_files(tmp.path()).len(), 2);
    let db = DiskBackend::open(tmp.path()).unwrap();
    let svc: &dyn BlobService = &db;
    assert_eq!(svc.read_to_vec(&d).unwrap(), blob);
    assert_eq!(svc.read_to_vec(&d2).unwrap(), blob2);
}
