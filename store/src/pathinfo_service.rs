//! Where path infos are kept, keyed by the store path's 20-byte digest: in memory,
//! or in the same redb database as castore's on-disk backend (so one durable commit of a path info
//! also makes the blobs and directories written before it durable).

use std::collections::BTreeMap;
use std::sync::RwLock;

use nix_compat::{nixbase32, StorePath};
use redb::{ReadableTable, TableDefinition};
use tvix_castore::DiskBackend;

use crate::{Error, PathInfo};

const PATHINFO: TableDefinition<&[u8], &[u8]> = TableDefinition::new("store_pathinfo");

pub type PathKey = [u8; 20];

/// A stored key and its encoded path info.
pub type RawEntry = (Vec<u8>, Vec<u8>);

/// Backends store encoded path infos; decoding and checks are on `dyn PathInfoService`.
pub trait PathInfoService: Send + Sync {
    fn get_raw(&self, key: &PathKey) -> Result<Option<Vec<u8>>, Error>;
    /// Stores durably: when this returns, the path info survives a crash.
    fn put_raw(&self, key: &PathKey, bytes: Vec<u8>) -> Result<(), Error>;
    fn list_raw(&self) -> Result<Vec<RawEntry>, Error>;
}

fn key_name(key: &[u8]) -> String {
    nixbase32::encode(key)
}

impl dyn PathInfoService + '_ {
    pub fn get(&self, path: &StorePath) -> Result<Option<PathInfo>, Error> {
        let Some(bytes) = self.get_raw(path.digest())? else {
            return Ok(None);
        };
        let info = PathInfo::decode(&bytes, &path.to_string())?;
        if &info.store_path != path {
            return Err(Error::CorruptPathInfo {
                key: path.to_string(),
                reason: format!("stored under the wrong key: it is for {}", info.store_path),
            });
        }
        Ok(Some(info))
    }

    pub fn put(&self, info: &PathInfo) -> Result<(), Error> {
        self.put_raw(info.store_path.digest(), info.encode())
    }

    /// Every path info, sorted by store path; entries that fail to decode are
    /// returned as errors in place.
    pub fn list(&self) -> Result<Vec<Result<PathInfo, Error>>, Error> {
        let mut out: Vec<Result<PathInfo, Error>> = self
            .list_raw()?
            .into_iter()
            .map(|(k, v)| {
                let info = PathInfo::decode(&v, &key_name(&k))?;
                if info.store_path.digest()[..] != k[..] {
                    return Err(Error::CorruptPathInfo {
                        key: key_name(&k),
                        reason: format!(
                            "stored under the wrong key: it is for {}",
                            info.store_path
                        ),
                    });
                }
                Ok(info)
            })
            .collect();
        out.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => a.store_path.cmp(&b.store_path),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            (Err(_), Err(_)) => std::cmp::Ordering::Equal,
        });
        Ok(out)
    }
}

#[derive(Default)]
pub struct MemoryPathInfoService {
    map: RwLock<BTreeMap<PathKey, Vec<u8>>>,
}

impl PathInfoService for MemoryPathInfoService {
    fn get_raw(&self, key: &PathKey) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.map.read().unwrap().get(key).cloned())
    }
    fn put_raw(&self, key: &PathKey, bytes: Vec<u8>) -> Result<(), Error> {
        self.map.write().unwrap().insert(*key, bytes);
        Ok(())
    }
    fn list_raw(&self) -> Result<Vec<RawEntry>, Error> {
        Ok(self
            .map
            .read()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_vec(), v.clone()))
            .collect())
    }
}

/// Path infos in a redb database shared with castore's tables.
pub struct RedbPathInfoService {
    backend: DiskBackend,
}

fn storage<E: Into<redb::Error>>(e: E) -> Error {
    Error::Castore(tvix_castore::Error::Storage(Box::new(e.into())))
}

impl RedbPathInfoService {
    pub fn new(backend: DiskBackend) -> Result<Self, Error> {
        backend.commit_with(|txn| {
            txn.open_table(PATHINFO)?;
            Ok(())
        })?;
        Ok(RedbPathInfoService { backend })
    }
}

impl PathInfoService for RedbPathInfoService {
    fn get_raw(&self, key: &PathKey) -> Result<Option<Vec<u8>>, Error> {
        let txn = self.backend.database().begin_read().map_err(storage)?;
        let t = txn.open_table(PATHINFO).map_err(storage)?;
        let v = t.get(&key[..]).map_err(storage)?;
        Ok(v.map(|v| v.value().to_vec()))
    }
    fn put_raw(&self, key: &PathKey, bytes: Vec<u8>) -> Result<(), Error> {
        // One durable commit with the castore writes still pending, so the path
        // info never becomes visible (or durable) without its contents.
        self.backend.commit_with(|txn| {
            txn.open_table(PATHINFO)?.insert(&key[..], &bytes[..])?;
            Ok(())
        })?;
        Ok(())
    }
    fn list_raw(&self) -> Result<Vec<RawEntry>, Error> {
        let txn = self.backend.database().begin_read().map_err(storage)?;
        let t = txn.open_table(PATHINFO).map_err(storage)?;
        let mut out = Vec::new();
        for e in t.iter().map_err(storage)? {
            let (k, v) = e.map_err(storage)?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }
}
