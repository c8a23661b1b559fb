//! The on-disk backend: one redb database file holding chunks, chunk lists and
//! directories (and, through [`RedbBackend::database`], other crates' tables, such
//! as tvix-store's path info, so that one durable commit covers everything).
//!
//! Crash safety comes from redb's transactions: a commit is all or nothing. Bulk
//! writes (chunks, blobs, directories) commit without waiting for the disk;
//! [`RedbBackend::sync`] (or any later durable commit) makes them and everything
//! before them durable together. Writers in one process are serialised by redb;
//! a second process waits for the first to close the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::{B3Digest, BlobService, DirectoryService, Error};

const CHUNKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("castore_chunks");
const BLOBS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("castore_blobs");
const DIRECTORIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("castore_directories");

/// How long to wait for another process to release the database.
const OPEN_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct RedbBackend {
    db: Arc<Database>,
    path: PathBuf,
}

impl RedbBackend {
    /// Opens (creating if needed) the database at `path`, waiting while another
    /// process has it open.
    pub fn open(path: &Path) -> Result<Self, Error> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let start = Instant::now();
        let db = loop {
            match Database::create(path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if start.elapsed() < OPEN_WAIT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(Error::Busy {
                        path: path.display().to_string(),
                        secs: OPEN_WAIT.as_secs(),
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
        txn.commit()?;
        Ok(RedbBackend {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    /// The database, for tables of crates built on this one.
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes every earlier commit durable.
    pub fn sync(&self) -> Result<(), Error> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        txn.commit()?;
        Ok(())
    }

    /// Number of stored chunks.
    pub fn chunk_count(&self) -> Result<u64, Error> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(CHUNKS)?.len()?)
    }

    fn get(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &B3Digest,
    ) -> Result<Option<Vec<u8>>, Error> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(table)?;
        Ok(t.get(&key.0[..])?.map(|v| v.value().to_vec()))
    }

    fn has(&self, table: TableDefinition<&[u8], &[u8]>, key: &B3Digest) -> Result<bool, Error> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(table)?;
        Ok(t.get(&key.0[..])?.is_some())
    }

    fn put_many(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        items: &[(B3Digest, &[u8])],
    ) -> Result<(), Error> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None);
        {
            let mut t = txn.open_table(table)?;
            for (k, v) in items {
                t.insert(&k.0[..], *v)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn keys(&self, table: TableDefinition<&[u8], &[u8]>) -> Result<Vec<B3Digest>, Error> {
        let txn = self.db.begin_read()?;
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

impl BlobService for RedbBackend {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(CHUNKS, digest)
    }
    fn has_chunk(&self, digest: &B3Digest) -> Result<bool, Error> {
        self.has(CHUNKS, digest)
    }
    fn put_chunks(&self, chunks: &[(B3Digest, Vec<u8>)]) -> Result<(), Error> {
        let items: Vec<(B3Digest, &[u8])> = chunks.iter().map(|(d, b)| (*d, &b[..])).collect();
        self.put_many(CHUNKS, &items)
    }
    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(BLOBS, blob)
    }
    fn put_chunk_list(&self, blob: &B3Digest, list: Vec<u8>) -> Result<(), Error> {
        self.put_many(BLOBS, &[(*blob, &list)])
    }
    fn list_blobs(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(BLOBS)
    }
    fn list_chunks(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(CHUNKS)
    }
}

impl DirectoryService for RedbBackend {
    fn get_raw(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.get(DIRECTORIES, digest)
    }
    fn put_raw(&self, digest: &B3Digest, bytes: Vec<u8>) -> Result<(), Error> {
        self.put_many(DIRECTORIES, &[(*digest, &bytes)])
    }
    fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        RedbBackend::has(self, DIRECTORIES, digest)
    }
    fn list(&self) -> Result<Vec<B3Digest>, Error> {
        self.keys(DIRECTORIES)
    }
}
