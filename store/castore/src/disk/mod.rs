//! The on-disk backend, a directory holding a redb database (`store.redb`) and
//! append-only pack files (`packs/`). Chunk data goes to the packs, written
//! straight from the writer's buffers; the database holds where each chunk is,
//! chunk lists, directories and (through [`DiskBackend::commit_with`]) other
//! crates' tables, such as tvix-store's path info, so that one commit covers
//! everything.
//!
//! Crash safety: a commit is all or nothing (redb), and pack data is synced
//! before any durable commit that refers to it, so the database never points at
//! bytes a crash could lose. Bytes appended after the last commit are trimmed when
//! the store is next opened. Index writes are collected in memory (and served from
//! there) and committed in batches; [`DiskBackend::commit_with`] and
//! [`DiskBackend::sync`] commit durably, which also makes every earlier commit
//! durable. Threads of one process share the backend; a second process waits for
//! the first to close the database, so only one process ever writes the packs.

mod pack;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition,
    TableHandle, WriteTransaction,
};

use crate::blob::ChunkBatch;
use crate::{B3Digest, BlobService, DirectoryService, Error};
use pack::{Loc, PackReaders, PackWriter};

type Table = TableDefinition<'static, &'static [u8], &'static [u8]>;
/// Chunk digest to its [`Loc`] in the packs.
const CHUNKS: Table = TableDefinition::new("castore_chunk_locs");
const BLOBS: Table = TableDefinition::new("castore_blobs");
const DIRECTORIES: Table = TableDefinition::new("castore_directories");
/// Pack id to its length at the last commit.
const PACKS: TableDefinition<'static, u32, u64> = TableDefinition::new("castore_packs");
/// `"version"` to the layout version, [`FORMAT`].
const META: TableDefinition<'static, &'static str, u64> = TableDefinition::new("castore_meta");

/// The layout this code reads and writes. 1 (no [`META`] table) kept chunk
/// data inside the database.
pub const FORMAT: u64 = 2;

/// The database's file name inside the store directory.
pub const DATABASE: &str = "store.redb";

/// How long [`DiskBackend::open`] waits for another process to release the
/// database.
pub const OPEN_WAIT: Duration = Duration::from_secs(60);

/// Pending index bytes that trigger a (non-durable) commit of the batch.
pub const FLUSH_BYTES: usize = 16 * 1024 * 1024;

/// Writes not yet committed.
#[derive(Default)]
struct Pending {
    chunks: HashMap<B3Digest, Loc>,
    blobs: HashMap<B3Digest, Vec<u8>>,
    dirs: HashMap<B3Digest, Vec<u8>>,
    bytes: usize,
    /// A commit since the last durable one did not wait for the disk.
    unsynced: bool,
}

/// The tables whose values are kept whole in the database.
#[derive(Clone, Copy)]
enum Kind {
    Blobs,
    Dirs,
}

impl Kind {
    fn table(self) -> Table {
        match self {
            Kind::Blobs => BLOBS,
            Kind::Dirs => DIRECTORIES,
        }
    }
    fn map(self, p: &Pending) -> &HashMap<B3Digest, Vec<u8>> {
        match self {
            Kind::Blobs => &p.blobs,
            Kind::Dirs => &p.dirs,
        }
    }
    fn map_mut(self, p: &mut Pending) -> &mut HashMap<B3Digest, Vec<u8>> {
        match self {
            Kind::Blobs => &mut p.blobs,
            Kind::Dirs => &mut p.dirs,
        }
    }
}

/// Everything writers change, under one lock.
struct State {
    pending: Pending,
    packs: PackWriter,
}

struct Inner {
    db: Arc<Database>,
    dir: PathBuf,
    packs_dir: PathBuf,
    readers: PackReaders,
    /// Held for the whole of a commit, so a reader never misses an entry that is
    /// between the batch and the database.
    state: Mutex<State>,
}

#[derive(Clone)]
pub struct DiskBackend {
    inner: Arc<Inner>,
}

impl DiskBackend {
    /// Opens (creating if needed) the store in directory `dir`, waiting up to
    /// [`OPEN_WAIT`] while another process has it open.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Self::open_waiting(dir, OPEN_WAIT)
    }

    /// Like [`Self::open`], waiting at most `wait` for another process; then
    /// [`Error::Busy`].
    pub fn open_waiting(dir: &Path, wait: Duration) -> Result<Self, Error> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DATABASE);
        let start = Instant::now();
        let db = loop {
            match Database::create(&path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(Error::Busy {
                        path: dir.display().to_string(),
                        secs: wait.as_secs(),
                    })
                }
                Err(e) => return Err(e.into()),
            }
        };
        let recorded = prepare_tables(&db, dir)?;
        let packs_dir = dir.join("packs");
        let (packs, readers) = pack::open(&packs_dir, &recorded)?;
        Ok(DiskBackend {
            inner: Arc::new(Inner {
                db: Arc::new(db),
                dir: dir.to_path_buf(),
                packs_dir,
                readers,
                state: Mutex::new(State {
                    pending: Pending::default(),
                    packs,
                }),
            }),
        })
    }

    /// The database, for reading other crates' tables.
    pub fn database(&self) -> &Arc<Database> {
        &self.inner.db
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves a batch that is still
        // consistent (entries are inserted whole), so poisoning is not fatal.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn commit_state(
        &self,
        s: &mut State,
        durability: Durability,
        extra: impl FnOnce(&WriteTransaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let durable = matches!(durability, Durability::Immediate);
        if durable {
            // What the commit refers to must be on disk before the commit is.
            s.packs.sync()?;
        }
        let lengths = s.packs.take_lengths();
        let committed = (|| {
            let mut txn = self.inner.db.begin_write()?;
            txn.set_durability(durability);
            insert_all(&txn, &s.pending, &lengths)?;
            extra(&txn)?;
            txn.commit()?;
            Ok(())
        })();
        if let Err(e) = committed {
            s.packs.restore_lengths(lengths);
            return Err(e);
        }
        s.pending = Pending {
            // A durable commit makes every earlier one durable too.
            unsynced: !durable,
            ..Pending::default()
        };
        Ok(())
    }

    /// Commits the batch together with whatever `extra` writes, durably: when this
    /// returns, all of it (and everything before it) survives a crash.
    pub fn commit_with(
        &self,
        extra: impl FnOnce(&WriteTransaction) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut s = self.state();
        self.commit_state(&mut s, Durability::Immediate, extra)
    }

    /// Makes every write so far durable.
    pub fn sync(&self) -> Result<(), Error> {
        self.commit_with(|_| Ok(()))
    }

    /// Commits the batch without waiting for the disk.
    fn flush(&self) -> Result<(), Error> {
        let mut s = self.state();
        self.commit_state(&mut s, Durability::None, |_| Ok(()))
    }

    /// Number of stored chunks.
    pub fn chunk_count(&self) -> Result<u64, Error> {
        self.flush()?;
        let txn = self.inner.db.begin_read()?;
        Ok(txn.open_table(CHUNKS)?.len()?)
    }

    /// The pending value or, failing that, a read transaction to look in.
    fn lookup<T: Clone>(
        &self,
        pick: impl FnOnce(&Pending) -> Option<T>,
    ) -> Result<Result<T, ReadTransaction>, Error> {
        let s = self.state();
        if let Some(v) = pick(&s.pending) {
            return Ok(Ok(v));
        }
        // Begun before the lock is released, so nothing committed in between
        // is missed.
        let txn = self.inner.db.begin_read()?;
        drop(s);
        Ok(Err(txn))
    }

    fn get(&self, kind: Kind, key: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        match self.lookup(|p| kind.map(p).get(key).cloned())? {
            Ok(v) => Ok(Some(v)),
            Err(txn) => {
                let t = txn.open_table(kind.table())?;
                Ok(t.get(&key.0[..])?.map(|v| v.value().to_vec()))
            }
        }
    }

    fn chunk_loc(&self, key: &B3Digest) -> Result<Option<Loc>, Error> {
        match self.lookup(|p| p.chunks.get(key).copied())? {
            Ok(loc) => Ok(Some(loc)),
            Err(txn) => {
                let t = txn.open_table(CHUNKS)?;
                let Some(v) = t.get(&key.0[..])? else {
                    return Ok(None);
                };
                Loc::decode(v.value())
                    .map(Some)
                    .ok_or_else(|| Error::Malformed {
                        kind: "chunk index entry",
                        digest: *key,
                        reason: format!("{} bytes instead of 16", v.value().len()),
                    })
            }
        }
    }

    fn put(&self, kind: Kind, key: B3Digest, value: Vec<u8>) -> Result<(), Error> {
        let mut s = self.state();
        s.pending.bytes += value.len() + 32;
        kind.map_mut(&mut s.pending).insert(key, value);
        self.flush_if_large(&mut s)
    }

    fn flush_if_large(&self, s: &mut State) -> Result<(), Error> {
        if s.pending.bytes >= FLUSH_BYTES {
            self.commit_state(s, Durability::None, |_| Ok(()))?;
        }
        Ok(())
    }

    fn keys(&self, table: Table) -> Result<Vec<B3Digest>, Error> {
        self.flush()?;
        let txn = self.inner.db.begin_read()?;
        let t = txn.open_table(table)?;
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

/// Checks the database's layout (creating it in a new one) and returns the pack
/// lengths it recorded.
fn prepare_tables(db: &Database, dir: &Path) -> Result<BTreeMap<u32, u64>, Error> {
    let txn = db.begin_write()?;
    let has_tables = txn.list_tables()?.next().is_some();
    let found = if has_tables {
        match txn.list_tables()?.any(|t| t.name() == META.name()) {
            true => txn.open_table(META)?.get("version")?.map(|v| v.value()),
            false => Some(1),
        }
    } else {
        txn.open_table(META)?.insert("version", FORMAT)?;
        Some(FORMAT)
    };
    if found != Some(FORMAT) {
        let found = found.map_or("unknown".to_owned(), |v| v.to_string());
        return Err(Error::UnsupportedFormat {
            path: dir.display().to_string(),
            reason: format!(
                "its layout is version {found}, this tvix reads version {FORMAT} \
                 (chunk data in pack files beside the database); move it away and \
                 import into a new store"
            ),
        });
    }
    // Created here so read transactions never see them missing.
    txn.open_table(CHUNKS)?;
    txn.open_table(BLOBS)?;
    txn.open_table(DIRECTORIES)?;
    let mut recorded = BTreeMap::new();
    for e in txn.open_table(PACKS)?.iter()? {
        let (id, len) = e?;
        recorded.insert(id.value(), len.value());
    }
    txn.commit()?;
    Ok(recorded)
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Best effort: unflushed writes that nothing durable refers to are only
        // an optimisation lost. Callers who need them call `sync`.
        let s = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        let p = &s.pending;
        let lengths = s.packs.take_lengths();
        if p.bytes > 0 || !p.chunks.is_empty() || p.unsynced || !lengths.is_empty() {
            if s.packs.sync().is_err() {
                return;
            }
            if let Ok(mut txn) = self.db.begin_write() {
                txn.set_durability(Durability::Immediate);
                if insert_all(&txn, p, &lengths).is_ok() {
                    let _ = txn.commit();
                }
            }
        }
    }
}

/// Writes a batch and the pack lengths into a transaction.
fn insert_all(
    txn: &WriteTransaction,
    p: &Pending,
    lengths: &BTreeMap<u32, u64>,
) -> Result<(), Error> {
    let mut t = txn.open_table(CHUNKS)?;
    for (k, loc) in &p.chunks {
        t.insert(&k.0[..], &loc.encode()[..])?;
    }
    for (table, map) in [(BLOBS, &p.blobs), (DIRECTORIES, &p.dirs)] {
        let mut t = txn.open_table(table)?;
        for (k, v) in map {
            t.insert(&k.0[..], &v[..])?;
        }
    }
    let mut t = txn.open_table(PACKS)?;
    for (&id, &len) in lengths {
        t.insert(id, len)?;
    }
    Ok(())
}

impl BlobService for DiskBackend {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        match self.chunk_loc(digest)? {
            None => Ok(None),
            Some(loc) => self
                .inner
                .readers
                .read(&self.inner.packs_dir, digest, loc)
                .map(Some),
        }
    }
    fn has_chunk(&self, digest: &B3Digest) -> Result<bool, Error> {
        Ok(self.chunk_loc(digest)?.is_some())
    }
    fn put_chunks(&self, chunks: &ChunkBatch) -> Result<(), Error> {
        let mut s = self.state();
        // Another thread may have stored some meanwhile; write only the rest.
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(CHUNKS)?;
        let mut pieces = Vec::with_capacity(chunks.pieces().len());
        let mut new = Vec::with_capacity(chunks.len());
        for (d, len, ps) in chunks.iter() {
            if s.pending.chunks.contains_key(&d)
                || new.iter().any(|(n, _)| *n == d)
                || table.get(&d.0[..])?.is_some()
            {
                continue;
            }
            pieces.extend_from_slice(ps);
            new.push((d, len));
        }
        if new.is_empty() {
            return Ok(());
        }
        let lens: Vec<usize> = new.iter().map(|(_, l)| *l).collect();
        let locs = s.packs.append(&pieces, &lens)?;
        for ((d, _), loc) in new.into_iter().zip(locs) {
            s.pending.chunks.insert(d, loc);
            s.pending.bytes += 48;
        }
        self.flush_if_large(&mut s)
    }
    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(Kind::Blobs, blob)
    }
    fn put_chunk_list(&self, blob: &B3Digest, list: Vec<u8>) -> Result<(), Error> {
        if self.get(Kind::Blobs, blob)?.is_some() {
            return Ok(());
        }
        self.put(Kind::Blobs, *blob, list)
    }
    fn list_blobs(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(BLOBS)
    }
    fn list_chunks(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(CHUNKS)
    }
}

impl DirectoryService for DiskBackend {
    fn get_raw(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(Kind::Dirs, digest)
    }
    fn put_raw(&self, digest: &B3Digest, bytes: Vec<u8>) -> Result<(), Error> {
        self.put(Kind::Dirs, *digest, bytes)
    }
    fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        match self.lookup(|p| p.dirs.contains_key(digest).then_some(()))? {
            Ok(()) => Ok(true),
            Err(txn) => Ok(txn.open_table(DIRECTORIES)?.get(&digest.0[..])?.is_some()),
        }
    }
    fn list(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(DIRECTORIES)
    }
}

#[cfg(test)]
mod tests;
