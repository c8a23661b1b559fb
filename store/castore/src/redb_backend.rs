//! The on-disk backend: one redb database file holding chunks, chunk lists and
//! directories (and, through [`RedbBackend::commit_with`], other crates' tables,
//! such as tvix-store's path info, so that one commit covers everything).
//!
//! Crash safety comes from redb's transactions: a commit is all or nothing.
//! Writes are collected in memory (and served from there) and committed in large
//! batches: when the batch grows past [`FLUSH_BYTES`] it is committed without
//! waiting for the disk, and [`RedbBackend::commit_with`] / [`RedbBackend::sync`]
//! commit it durably, which also makes every earlier commit durable. So a path
//! info committed durably never refers to anything that a crash could lose.
//! Threads of one process share the batch; a second process waits for the first
//! to close the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use crate::{B3Digest, BlobService, DirectoryService, Error};

type Table = TableDefinition<'static, &'static [u8], &'static [u8]>;
const CHUNKS: Table = TableDefinition::new("castore_chunks");
const BLOBS: Table = TableDefinition::new("castore_blobs");
const DIRECTORIES: Table = TableDefinition::new("castore_directories");
/// The digest of every chunk with an empty value: asking redb whether a key
/// exists reads the whole value, so "do we have this chunk" (asked for every
/// chunk of every ingest) looks here instead of at the chunk itself. A chunk
/// missing here (a store written before this table existed) is only stored again.
const CHUNK_KEYS: Table = TableDefinition::new("castore_chunk_keys");

/// How long [`RedbBackend::open`] waits for another process to release the
/// database.
pub const OPEN_WAIT: Duration = Duration::from_secs(60);

/// Pending bytes that trigger a (non-durable) commit of the batch.
pub const FLUSH_BYTES: usize = 64 * 1024 * 1024;

/// Writes not yet committed, per table.
#[derive(Default)]
struct Pending {
    chunks: HashMap<B3Digest, Vec<u8>>,
    blobs: HashMap<B3Digest, Vec<u8>>,
    dirs: HashMap<B3Digest, Vec<u8>>,
    bytes: usize,
    /// A commit since the last durable one did not wait for the disk.
    unsynced: bool,
}

/// Which of the three tables.
#[derive(Clone, Copy)]
enum Kind {
    Chunks,
    Blobs,
    Dirs,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Chunks, Kind::Blobs, Kind::Dirs];
    fn table(self) -> Table {
        match self {
            Kind::Chunks => CHUNKS,
            Kind::Blobs => BLOBS,
            Kind::Dirs => DIRECTORIES,
        }
    }
}

impl Pending {
    fn map(&self, kind: Kind) -> &HashMap<B3Digest, Vec<u8>> {
        match kind {
            Kind::Chunks => &self.chunks,
            Kind::Blobs => &self.blobs,
            Kind::Dirs => &self.dirs,
        }
    }
    fn map_mut(&mut self, kind: Kind) -> &mut HashMap<B3Digest, Vec<u8>> {
        match kind {
            Kind::Chunks => &mut self.chunks,
            Kind::Blobs => &mut self.blobs,
            Kind::Dirs => &mut self.dirs,
        }
    }
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    /// Held for the whole of a commit, so a reader never misses an entry that is
    /// between the batch and the database.
    pending: Mutex<Pending>,
}

#[derive(Clone)]
pub struct RedbBackend {
    inner: Arc<Inner>,
}

impl RedbBackend {
    /// Opens (creating if needed) the database at `path`, waiting up to
    /// [`OPEN_WAIT`] while another process has it open.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_waiting(path, OPEN_WAIT)
    }

    /// Like [`Self::open`], waiting at most `wait` for another process; then
    /// [`Error::Busy`].
    pub fn open_waiting(path: &Path, wait: Duration) -> Result<Self, Error> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let start = Instant::now();
        let db = loop {
            match Database::create(path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(Error::Busy {
                        path: path.display().to_string(),
                        secs: wait.as_secs(),
                    })
                }
                Err(e) => return Err(e.into()),
            }
        };
        // Create the tables so read transactions never see them missing.
        let txn = db.begin_write()?;
        txn.open_table(CHUNKS)?;
        txn.open_table(BLOBS)?;
        txn.open_table(DIRECTORIES)?;
        txn.open_table(CHUNK_KEYS)?;
        txn.commit()?;
        Ok(RedbBackend {
            inner: Arc::new(Inner {
                db: Arc::new(db),
                path: path.to_path_buf(),
                pending: Mutex::new(Pending::default()),
            }),
        })
    }

    /// The database, for reading other crates' tables.
    pub fn database(&self) -> &Arc<Database> {
        &self.inner.db
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        // A panic elsewhere while holding the lock leaves a batch that is still
        // consistent (entries are inserted whole), so poisoning is not fatal.
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn commit_pending(
        &self,
        p: &mut Pending,
        durability: Durability,
        extra: impl FnOnce(&WriteTransaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut txn = self.inner.db.begin_write()?;
        txn.set_durability(durability);
        insert_all(&txn, p)?;
        extra(&txn)?;
        txn.commit()?;
        let durable = matches!(durability, Durability::Immediate);
        *p = Pending::default();
        // A durable commit makes every earlier one durable too.
        p.unsynced = !durable;
        Ok(())
    }

    /// Commits the batch together with whatever `extra` writes, durably: when this
    /// returns, all of it (and everything before it) survives a crash.
    pub fn commit_with(
        &self,
        extra: impl FnOnce(&WriteTransaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut p = self.pending();
        self.commit_pending(&mut p, Durability::Immediate, extra)
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<(), Error> {
        self.commit_with(|_| Ok(()))
    }

    /// Commits the batch without waiting for the disk.
    fn flush(&self) -> Result<(), Error> {
        let mut p = self.pending();
        self.commit_pending(&mut p, Durability::None, |_| Ok(()))
    }

    /// Number of stored chunks.
    pub fn chunk_count(&self) -> Result<u64, Error> {
        self.flush()?;
        let txn = self.inner.db.begin_read()?;
        Ok(txn.open_table(CHUNKS)?.len()?)
    }

    fn get(&self, kind: Kind, key: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        let p = self.pending();
        if let Some(v) = p.map(kind).get(key) {
            return Ok(Some(v.clone()));
        }
        let txn = self.inner.db.begin_read()?;
        drop(p);
        let t = txn.open_table(kind.table())?;
        Ok(t.get(&key.0[..])?.map(|v| v.value().to_vec()))
    }

    fn has(&self, kind: Kind, key: &B3Digest) -> Result<bool, Error> {
        let p = self.pending();
        if p.map(kind).contains_key(key) {
            return Ok(true);
        }
        let txn = self.inner.db.begin_read()?;
        drop(p);
        let table = match kind {
            Kind::Chunks => CHUNK_KEYS,
            other => other.table(),
        };
        let t = txn.open_table(table)?;
        Ok(t.get(&key.0[..])?.is_some())
    }

    fn put(&self, kind: Kind, key: B3Digest, value: Vec<u8>) -> Result<(), Error> {
        let mut p = self.pending();
        p.bytes += value.len() + 32;
        p.map_mut(kind).insert(key, value);
        if p.bytes >= FLUSH_BYTES {
            self.commit_pending(&mut p, Durability::None, |_| Ok(()))?;
        }
        Ok(())
    }

    fn keys(&self, kind: Kind) -> Result<Vec<B3Digest>, Error> {
        self.flush()?;
        let txn = self.inner.db.begin_read()?;
        let t = txn.open_table(kind.table())?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, _) = entry?;
            // A key of the wrong length cannot be a digest; verify reports it via
            // the all-zero digest, which never matches real data.
            out.push(B3Digest::try_from(k.value()).unwrap_or(B3Digest([0; 32])));
        }
        Ok(out)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Best effort: unflushed writes that nothing durable refers to are only
        // an optimisation lost. Callers who need them call `sync`.
        let p = self.pending.get_mut().unwrap_or_else(|e| e.into_inner());
        if p.bytes > 0 || p.unsynced {
            if let Ok(mut txn) = self.db.begin_write() {
                txn.set_durability(Durability::Immediate);
                if insert_all(&txn, p).is_ok() {
                    let _ = txn.commit();
                }
            }
        }
    }
}

/// Writes a batch into a transaction (chunks also into [`CHUNK_KEYS`]).
fn insert_all(txn: &WriteTransaction, p: &Pending) -> Result<(), Error> {
    for kind in Kind::ALL {
        let mut t = txn.open_table(kind.table())?;
        for (k, v) in p.map(kind) {
            t.insert(&k.0[..], &v[..])?;
        }
    }
    let mut keys = txn.open_table(CHUNK_KEYS)?;
    for k in p.chunks.keys() {
        keys.insert(&k.0[..], &b""[..])?;
    }
    Ok(())
}

impl BlobService for RedbBackend {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(Kind::Chunks, digest)
    }
    fn has_chunk(&self, digest: &B3Digest) -> Result<bool, Error> {
        self.has(Kind::Chunks, digest)
    }
    fn put_chunks(&self, chunks: Vec<(B3Digest, Vec<u8>)>) -> Result<(), Error> {
        for (d, b) in chunks {
            self.put(Kind::Chunks, d, b)?;
        }
        Ok(())
    }
    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(Kind::Blobs, blob)
    }
    fn put_chunk_list(&self, blob: &B3Digest, list: Vec<u8>) -> Result<(), Error> {
        self.put(Kind::Blobs, *blob, list)
    }
    fn list_blobs(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(Kind::Blobs)
    }
    fn list_chunks(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(Kind::Chunks)
    }
}

impl DirectoryService for RedbBackend {
    fn get_raw(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(Kind::Dirs, digest)
    }
    fn put_raw(&self, digest: &B3Digest, bytes: Vec<u8>) -> Result<(), Error> {
        self.put(Kind::Dirs, *digest, bytes)
    }
    fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        RedbBackend::has(self, Kind::Dirs, digest)
    }
    fn list(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(Kind::Dirs)
    }
}
