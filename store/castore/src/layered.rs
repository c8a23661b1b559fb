//! A local cache in front of a remote store. Reads try the cache, fall through to
//! the remote, and fill the cache with what they fetched, after checking it. Writes
//! go to the remote only: it is the shared authority (a write it refuses must fail),
//! and the writer has the data already; the cache fills when the data is read.
//!
//! The cache stays a store in its own right: a directory enters it only with every
//! directory below it, and a blob only once all its chunks are there and hash to
//! the blob's digest. So the cache may be any backend, even the local on-disk store.
//! Nothing is ever deleted from the remote, so what the cache holds the remote has.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::blob::{decode_chunk_list, encode_chunk_list, ChunkBatch};
use crate::{B3Digest, BlobService, ChunkMeta, Directory, DirectoryService, Error};

pub struct LayeredBlobService {
    cache: Arc<dyn BlobService>,
    remote: Arc<dyn BlobService>,
    /// Blobs whose chunk list was read from the remote before all their chunks were
    /// cached: recorded in the cache when the last chunk arrives.
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    lists: HashMap<B3Digest, Vec<ChunkMeta>>,
    by_chunk: HashMap<B3Digest, Vec<B3Digest>>,
}

impl LayeredBlobService {
    pub fn new(cache: Arc<dyn BlobService>, remote: Arc<dyn BlobService>) -> Self {
        LayeredBlobService {
            cache,
            remote,
            waiting: Mutex::default(),
        }
    }

    /// Records `blob` in the cache if all its chunks are there and hash to it.
    fn cache_list_if_complete(&self, blob: &B3Digest, chunks: &[ChunkMeta]) -> Result<bool, Error> {
        for c in chunks {
            if !self.cache.has_chunk(&c.digest)? {
                return Ok(false);
            }
        }
        // A single chunk named like the blob was checked when it was fetched.
        let single = matches!(chunks, [c] if c.digest == *blob);
        if !single {
            let mut hasher = blake3::Hasher::new();
            for c in chunks {
                let data = self.cache.get_chunk(&c.digest)?.ok_or(Error::NotFound {
                    kind: "chunk",
                    digest: c.digest,
                })?;
                hasher.update(&data);
            }
            let actual = B3Digest::from(hasher.finalize());
            if actual != *blob {
                return Err(Error::Corrupt {
                    kind: "blob (from the remote)",
                    digest: *blob,
                    actual,
                });
            }
        }
        self.cache.put_chunk_list(blob, encode_chunk_list(chunks))?;
        Ok(true)
    }
}

impl BlobService for LayeredBlobService {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        if let Some(data) = self.cache.get_chunk(digest)? {
            return Ok(Some(data));
        }
        let Some(data) = self.remote.get_chunk(digest)? else {
            return Ok(None);
        };
        // Checked before it is cached: the cache is trusted from then on.
        let actual = B3Digest::of(&data);
        if actual != *digest {
            return Err(Error::Corrupt {
                kind: "chunk (from the remote)",
                digest: *digest,
                actual,
            });
        }
        self.cache
            .put_chunks(&ChunkBatch::of([(*digest, data.clone().into())]))?;
        let mut waiting = self.waiting.lock().unwrap();
        for blob in waiting.by_chunk.remove(digest).unwrap_or_default() {
            let Some(chunks) = waiting.lists.get(&blob) else {
                continue;
            };
            if self.cache_list_if_complete(&blob, chunks)? {
                waiting.lists.remove(&blob);
            }
        }
        Ok(Some(data))
    }

    fn has_chunk(&self, digest: &B3Digest) -> Result<bool, Error> {
        Ok(self.cache.has_chunk(digest)? || self.remote.has_chunk(digest)?)
    }

    fn put_chunks(&self, chunks: &ChunkBatch) -> Result<(), Error> {
        self.remote.put_chunks(chunks)
    }

    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        if let Some(list) = self.cache.get_chunk_list(blob)? {
            return Ok(Some(list));
        }
        let Some(list) = self.remote.get_chunk_list(blob)? else {
            return Ok(None);
        };
        let chunks = decode_chunk_list(&list).ok_or(Error::Malformed {
            kind: "blob chunk list (from the remote)",
            digest: *blob,
            reason: format!("length {} is not a multiple of 40", list.len()),
        })?;
        if !self.cache_list_if_complete(blob, &chunks)? {
            let mut waiting = self.waiting.lock().unwrap();
            let w = &mut *waiting;
            if !w.lists.contains_key(blob) {
                let missing: HashSet<B3Digest> = chunks.iter().map(|c| c.digest).collect();
                for c in missing {
                    w.by_chunk.entry(c).or_default().push(*blob);
                }
                w.lists.insert(*blob, chunks);
            }
        }
        Ok(Some(list))
    }

    fn put_chunk_list(&self, blob: &B3Digest, list: Vec<u8>) -> Result<(), Error> {
        self.remote.put_chunk_list(blob, list)
    }

    fn flush(&self) -> Result<(), Error> {
        self.remote.flush()?;
        self.cache.flush()
    }

    fn list_blobs(&self) -> Result<Vec<B3Digest>, Error> {
        self.remote.list_blobs()
    }

    fn list_chunks(&self) -> Result<Vec<B3Digest>, Error> {
        self.remote.list_chunks()
    }
}

pub struct LayeredDirectoryService {
    cache: Arc<dyn DirectoryService>,
    remote: Arc<dyn DirectoryService>,
}

impl LayeredDirectoryService {
    pub fn new(cache: Arc<dyn DirectoryService>, remote: Arc<dyn DirectoryService>) -> Self {
        LayeredDirectoryService { cache, remote }
    }

    /// Stores a checked closure in the cache, each directory after those below it
    /// (so the cache's own checks pass), skipping what the cache has.
    fn fill(&self, closure: Vec<(B3Digest, Directory)>) -> Result<(), Error> {
        let cache = &*self.cache;
        let by_digest: HashMap<B3Digest, Directory> = closure.into_iter().collect();
        let mut done = HashSet::new();
        let roots: Vec<B3Digest> = by_digest.keys().copied().collect();
        for root in roots {
            // Depth first, post-order, on an explicit stack.
            let mut stack = vec![(root, false)];
            while let Some((d, expanded)) = stack.pop() {
                if done.contains(&d) {
                    continue;
                }
                if expanded {
                    cache.put(&by_digest[&d])?;
                    done.insert(d);
                    continue;
                }
                if cache.has(&d)? {
                    // Already there, and so is everything below it.
                    done.insert(d);
                    continue;
                }
                stack.push((d, true));
                for c in &by_digest[&d].directories {
                    let cd = B3Digest::try_from(&c.digest[..]).expect("validated digest");
                    if !done.contains(&cd) {
                        stack.push((cd, false));
                    }
                }
            }
        }
        Ok(())
    }
}

impl DirectoryService for LayeredDirectoryService {
    fn get_raw(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        if let Some(bytes) = self.cache.get_raw(digest)? {
            return Ok(Some(bytes));
        }
        // The whole closure at once (one request over gRPC), checked, so the
        // directories below are local when they are asked for next.
        let closure = match (&*self.remote as &dyn DirectoryService).closure(digest) {
            Ok(c) => c,
            Err(Error::NotFound { digest: d, .. }) if d == *digest => return Ok(None),
            Err(e) => return Err(e),
        };
        let bytes = closure[0].1.encode_canonical();
        self.fill(closure)?;
        Ok(Some(bytes))
    }

    fn put_raw(&self, digest: &B3Digest, bytes: Vec<u8>) -> Result<(), Error> {
        self.remote.put_raw(digest, bytes)
    }

    fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        Ok(self.cache.has(digest)? || self.remote.has(digest)?)
    }

    fn flush(&self) -> Result<(), Error> {
        self.remote.flush()?;
        self.cache.flush()
    }

    fn list(&self) -> Result<Vec<B3Digest>, Error> {
        self.remote.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::MAX_CHUNK;
    use crate::{DirectoryNode, FileNode, MemoryBlobService, MemoryDirectoryService};

    fn bytes(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i * 7919 % 251) as u8 ^ (i >> 11) as u8)
            .collect()
    }

    #[test]
    fn blob_reads_fill_the_cache_only_with_whole_checked_blobs() {
        let remote = Arc::new(MemoryBlobService::default());
        let cache = Arc::new(MemoryBlobService::default());
        let layered = LayeredBlobService::new(cache.clone(), remote.clone());
        let svc: &dyn BlobService = &layered;
        let data = bytes(3 * MAX_CHUNK + 5);
        let d = (&*remote as &dyn BlobService).put_bytes(&data).unwrap();
        let cache_dyn: &dyn BlobService = &*cache;
        // Asking whether it exists copies nothing.
        assert!(svc.has(&d).unwrap());
        assert_eq!(cache.chunk_count(), 0);
        assert!(!cache_dyn.has(&d).unwrap());
        // Reading it fills the cache; the blob is recorded once all chunks are in.
        assert_eq!(svc.read_to_vec(&d).unwrap(), data);
        assert!(cache_dyn.has(&d).unwrap());
        assert_eq!(cache_dyn.read_to_vec(&d).unwrap(), data);
        // Writes go to the remote.
        let d2 = svc.put_bytes(b"new").unwrap();
        assert!((&*remote as &dyn BlobService).has(&d2).unwrap());
        assert!(!cache_dyn.has(&d2).unwrap());
    }

    #[test]
    fn corrupt_remote_chunk_is_not_cached() {
        let remote = Arc::new(MemoryBlobService::default());
        let cache = Arc::new(MemoryBlobService::default());
        let layered = LayeredBlobService::new(cache.clone(), remote.clone());
        let d = (&*remote as &dyn BlobService).put_bytes(b"hello").unwrap();
        remote.corrupt_chunk_for_test(&d, b"hellO".to_vec());
        assert!(matches!(layered.get_chunk(&d), Err(Error::Corrupt { .. })));
        assert_eq!(cache.chunk_count(), 0);
    }

    #[test]
    fn directory_reads_fill_the_whole_closure() {
        let remote = Arc::new(MemoryDirectoryService::default());
        let cache = Arc::new(MemoryDirectoryService::default());
        let layered = LayeredDirectoryService::new(cache.clone(), remote.clone());
        let r: &dyn DirectoryService = &*remote;
        // A shared subdirectory reached at two depths, so the fill order matters.
        let leaf = Directory {
            files: vec![FileNode {
                name: b"f".to_vec(),
                digest: vec![1; 32],
                size: 1,
                executable: false,
            }],
            ..Default::default()
        };
        let node = |name: &str, d: &Directory| DirectoryNode {
            name: name.into(),
            digest: d.digest().0.to_vec(),
            size: d.size().unwrap(),
        };
        let mid = Directory {
            directories: vec![node("leaf", &leaf)],
            ..Default::default()
        };
        let top = Directory {
            directories: vec![node("leaf", &leaf), node("mid", &mid)],
            ..Default::default()
        };
        r.put(&leaf).unwrap();
        r.put(&mid).unwrap();
        let td = r.put(&top).unwrap();
        let svc: &dyn DirectoryService = &layered;
        assert_eq!(svc.get(&td).unwrap(), Some(top));
        let c: &dyn DirectoryService = &*cache;
        assert_eq!(c.list().unwrap().len(), 3);
        assert_eq!(c.closure(&td).unwrap().len(), 3);
        assert_eq!(svc.get(&B3Digest::of(b"x")).unwrap(), None);
    }
}
