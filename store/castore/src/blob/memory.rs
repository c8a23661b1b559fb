//! Blobs in memory; for tests and `memory://` stores.
//!
//! Chunks are kept as the shared buffers they arrived in, not copied: ingest reads
//! each file once into buffers that hashing and storing share, and a memory store
//! that copied them would touch every byte a second time.

use std::collections::HashMap;
use std::sync::RwLock;

use bytes::Bytes;

use super::{join_pieces, BlobService, ChunkBatch};
use crate::{B3Digest, Error};

#[derive(Default)]
pub struct MemoryBlobService {
    chunks: RwLock<HashMap<B3Digest, Vec<Bytes>>>,
    lists: RwLock<HashMap<B3Digest, Vec<u8>>>,
}

impl MemoryBlobService {
    /// Number of distinct chunks stored.
    pub fn chunk_count(&self) -> usize {
        self.chunks.read().unwrap().len()
    }

    /// Overwrites a chunk without checks: lets tests simulate corruption.
    pub fn corrupt_chunk_for_test(&self, digest: &B3Digest, bytes: Vec<u8>) {
        self.chunks
            .write()
            .unwrap()
            .insert(*digest, vec![Bytes::from(bytes)]);
    }

    /// Overwrites a blob's chunk list without checks (recording one keeps the
    /// first): lets tests simulate corruption.
    pub fn corrupt_chunk_list_for_test(&self, blob: &B3Digest, list: Vec<u8>) {
        self.lists.write().unwrap().insert(*blob, list);
    }
}

impl BlobService for MemoryBlobService {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .chunks
            .read()
            .unwrap()
            .get(digest)
            .map(|p| join_pieces(p)))
    }
    fn has_chunk(&self, digest: &B3Digest) -> Result<bool, Error> {
        Ok(self.chunks.read().unwrap().contains_key(digest))
    }
    fn put_chunks(&self, chunks: &ChunkBatch) -> Result<(), Error> {
        let mut map = self.chunks.write().unwrap();
        for (d, _, pieces) in chunks.iter() {
            map.entry(d).or_insert_with(|| pieces.to_vec());
        }
        Ok(())
    }
    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.lists.read().unwrap().get(blob).cloned())
    }
    fn put_chunk_list(&self, blob: &B3Digest, list: Vec<u8>) -> Result<(), Error> {
        self.lists.write().unwrap().entry(*blob).or_insert(list);
        Ok(())
    }
    fn list_blobs(&self) -> Result<Vec<B3Digest>, Error> {
        Ok(self.lists.read().unwrap().keys().copied().collect())
    }
    fn list_chunks(&self) -> Result<Vec<B3Digest>, Error> {
        Ok(self.chunks.read().unwrap().keys().copied().collect())
    }
}
