//! Path infos of a remote store read through a local cache, beside castore's
//! layered blobs and directories ([`tvix_castore::layered`]): reads fall through to
//! the remote, writes go to the remote only.
//!
//! A path info enters the cache only once everything it refers to is there (the
//! castore layers fill as contents are read), so the cache never shows a path whose
//! contents are missing and can be opened on its own as a store.

use std::sync::Arc;

use tvix_castore::proto::node;
use tvix_castore::{B3Digest, BlobService, DirectoryService, Node};

use crate::pathinfo_service::{PathInfoService, PathKey, RawEntry};
use crate::{Error, PathInfo, Store};

pub struct LayeredPathInfoService {
    cache: Arc<dyn PathInfoService>,
    remote: Arc<dyn PathInfoService>,
    cache_blobs: Arc<dyn BlobService>,
    cache_dirs: Arc<dyn DirectoryService>,
}

impl LayeredPathInfoService {
    /// `cache` is the whole cache store: its castore is checked for completeness.
    pub fn new(cache: &Store, remote: Arc<dyn PathInfoService>) -> Self {
        LayeredPathInfoService {
            cache: cache.paths.clone(),
            remote,
            cache_blobs: cache.blobs.clone(),
            cache_dirs: cache.dirs.clone(),
        }
    }

    /// True if the cache holds everything below `root`.
    fn complete_in_cache(&self, root: &Node) -> Result<bool, Error> {
        let blobs = &*self.cache_blobs;
        let file_there = |digest: &[u8]| {
            let d = B3Digest::try_from(digest).expect("validated node");
            blobs.has(&d)
        };
        match &root.node {
            Some(node::Node::File(f)) => Ok(file_there(&f.digest)?),
            Some(node::Node::Directory(d)) => {
                let digest = B3Digest::try_from(&d.digest[..]).expect("validated node");
                let dirs = &*self.cache_dirs;
                // A cached directory comes with all directories below it.
                if !dirs.has(&digest)? {
                    return Ok(false);
                }
                for (_, dir) in dirs.closure(&digest)? {
                    for f in &dir.files {
                        if !file_there(&f.digest)? {
                            return Ok(false);
                        }
                    }
                }
                Ok(true)
            }
            Some(node::Node::Symlink(_)) | None => Ok(true),
        }
    }
}

impl PathInfoService for LayeredPathInfoService {
    fn get_raw(&self, key: &PathKey) -> Result<Option<Vec<u8>>, Error> {
        if let Some(bytes) = self.cache.get_raw(key)? {
            return Ok(Some(bytes));
        }
        let Some(bytes) = self.remote.get_raw(key)? else {
            return Ok(None);
        };
        let info = PathInfo::decode(&bytes, &nix_compat::nixbase32::encode(key))?;
        if &info.store_path.digest()[..] == key && self.complete_in_cache(&info.node)? {
            self.cache.put_raw(key, bytes.clone())?;
        }
        Ok(Some(bytes))
    }

    fn put_raw(&self, key: &PathKey, bytes: Vec<u8>) -> Result<(), Error> {
        self.remote.put_raw(key, bytes)
    }

    fn list_raw(&self) -> Result<Vec<RawEntry>, Error> {
        self.remote.list_raw()
    }
}
