//! Clients of the castore services, implementing [`BlobService`] and
//! [`DirectoryService`]. Each checks what it receives before handing it on: a chunk
//! must hash to the digest asked for, a directory must hash to its digest and be
//! valid, a closure must contain exactly the directories reachable from its root,
//! and a digest the server reports for something stored must be the one we sent.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use tonic::{Code, Request, Status, Streaming};

use super::generated::blob_service_client::BlobServiceClient;
use super::generated::directory_service_client::DirectoryServiceClient;
use super::wire;
use super::wire::blob_upload::Item;
use super::{error_of, Connection, MAX_MESSAGE};
use crate::blob::{decode_chunk_list, encode_chunk_list, join_pieces, ChunkBatch, MAX_CHUNK};
use crate::{B3Digest, BlobService, Directory, DirectoryService, Error};

use prost::Message;
use tonic::transport::Channel;

/// Maps "not found" to `None` and other failures to errors.
fn found<T>(r: Result<T, Status>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(s) if s.code() == Code::NotFound => Ok(None),
        Err(s) => Err(error_of(&s)),
    }
}

fn digest_from_server(bytes: &[u8], what: &str) -> Result<B3Digest, Error> {
    B3Digest::try_from(bytes).map_err(|e| Error::Remote(format!("server sent a bad {what}: {e}")))
}

/// Reads every message of a server stream.
async fn collect<T>(mut s: Streaming<T>) -> Result<Vec<T>, Status> {
    let mut out = Vec::new();
    while let Some(m) = s.message().await? {
        out.push(m);
    }
    Ok(out)
}

/// Every digest of a `List` stream.
async fn collect_digests(s: Streaming<wire::DigestList>) -> Result<Vec<B3Digest>, Error> {
    let lists = collect(s).await.map_err(|s| error_of(&s))?;
    lists
        .iter()
        .flat_map(|l| &l.digests)
        .map(|d| digest_from_server(d, "digest in a listing"))
        .collect()
}

/// Buffered chunk bytes that make the client send what it holds.
const UPLOAD_BYTES: usize = 16 * 1024 * 1024;
/// Buffered blobs (or directories) that make the client send what it holds.
const UPLOAD_ITEMS: usize = 4096;

/// Writes not sent yet: chunks, then the blobs made of them.
#[derive(Default)]
struct Upload {
    chunks: ChunkBatch,
    digests: HashSet<B3Digest>,
    blobs: Vec<wire::PutChunkListRequest>,
}

/// Blobs on a store server. Writes are buffered and sent in batches (one
/// request asking which chunks the server lacks, one stream carrying those and
/// the blobs), so a tree of small files costs a few round trips, not several per
/// file; reads send what is buffered first.
pub struct GrpcBlobService {
    conn: Connection,
    upload: Mutex<Upload>,
}

impl GrpcBlobService {
    pub fn new(conn: Connection) -> Self {
        GrpcBlobService {
            conn,
            upload: Mutex::default(),
        }
    }

    fn upload(&self) -> MutexGuard<'_, Upload> {
        // A send that panicked took its batch; what is left is consistent.
        self.upload.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends the buffered writes. The buffer is emptied even on failure: the
    /// error goes to the writer, which does not retry.
    fn send(&self, u: &mut Upload) -> Result<(), Error> {
        let Upload { chunks, blobs, .. } = std::mem::take(u);
        if chunks.is_empty() && blobs.is_empty() {
            return Ok(());
        }
        let mut c = self.client();
        self.conn.block_on(async {
            let missing: HashSet<Vec<u8>> = if chunks.is_empty() {
                HashSet::new()
            } else {
                let asked = wire::DigestList {
                    digests: chunks.iter().map(|(d, _, _)| d.0.to_vec()).collect(),
                };
                let r = c.missing_chunks(asked).await.map_err(|s| error_of(&s))?;
                r.into_inner().digests.into_iter().collect()
            };
            let mut sent = Vec::new();
            let mut items = Vec::new();
            for (d, _, pieces) in chunks.iter() {
                if missing.contains(&d.0[..]) {
                    sent.push(d);
                    let data = match pieces {
                        [one] => one.clone(),
                        _ => join_pieces(pieces).into(),
                    };
                    items.push(Item::Chunk(data));
                }
            }
            items.extend(blobs.into_iter().map(Item::Blob));
            if items.is_empty() {
                return Ok(());
            }
            let stream = tokio_stream::iter(
                items
                    .into_iter()
                    .map(|i| wire::BlobUpload { item: Some(i) }),
            );
            let r = c
                .put(Request::new(stream))
                .await
                .map_err(|s| error_of(&s))?;
            let stored = r.into_inner().digests;
            if stored.len() != sent.len() {
                return Err(Error::Remote(format!(
                    "sent {} chunks, the server stored {}",
                    sent.len(),
                    stored.len()
                )));
            }
            for (sent, got) in sent.iter().zip(&stored) {
                let got = digest_from_server(got, "chunk digest")?;
                if got != *sent {
                    return Err(Error::Remote(format!(
                        "sent chunk {sent}, the server stored it as {got}"
                    )));
                }
            }
            Ok(())
        })
    }

    fn client(&self) -> BlobServiceClient<Channel> {
        BlobServiceClient::new(self.conn.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }
}

impl BlobService for GrpcBlobService {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.flush()?;
        let mut c = self.client();
        let data = self.conn.block_on(async {
            let mut s = c
                .read(wire::ReadBlobRequest {
                    digest: digest.0.to_vec(),
                })
                .await?
                .into_inner();
            let mut data = Vec::new();
            while let Some(m) = s.message().await? {
                data.extend_from_slice(&m.data);
                // A chunk is never larger; do not let a server fill our memory.
                if data.len() > MAX_CHUNK {
                    return Err(Status::out_of_range(format!(
                        "server sent more than {MAX_CHUNK} bytes for chunk {digest}"
                    )));
                }
            }
            Ok(data)
        });
        let Some(data) = found(data)? else {
            return Ok(None);
        };
        let actual = B3Digest::of(&data);
        if actual != *digest {
            return Err(Error::Corrupt {
                kind: "chunk (from the server)",
                digest: *digest,
                actual,
            });
        }
        Ok(Some(data))
    }

    fn has_chunk(&self, digest: &B3Digest) -> Result<bool, Error> {
        self.flush()?;
        let mut c = self.client();
        let r = self.conn.block_on(c.missing_chunks(wire::DigestList {
            digests: vec![digest.0.to_vec()],
        }));
        Ok(r.map_err(|s| error_of(&s))?.into_inner().digests.is_empty())
    }

    fn put_chunks(&self, chunks: &ChunkBatch) -> Result<(), Error> {
        let mut u = self.upload();
        for (d, _, pieces) in chunks.iter() {
            if u.digests.insert(d) {
                u.chunks.push(d, pieces.iter().cloned());
            }
        }
        if u.chunks.bytes() >= UPLOAD_BYTES {
            self.send(&mut u)?;
        }
        Ok(())
    }

    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        self.flush()?;
        let mut c = self.client();
        let r = self.conn.block_on(c.stat(wire::StatBlobRequest {
            digest: blob.0.to_vec(),
        }));
        let Some(resp) = found(r)? else {
            return Ok(None);
        };
        let chunks = resp
            .into_inner()
            .chunks
            .iter()
            .map(|c| {
                Ok(crate::ChunkMeta {
                    digest: digest_from_server(&c.digest, "chunk digest")?,
                    size: c.size,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Some(encode_chunk_list(&chunks)))
    }

    fn put_chunk_list(&self, blob: &B3Digest, list: Vec<u8>) -> Result<(), Error> {
        let chunks = decode_chunk_list(&list).ok_or(Error::Malformed {
            kind: "blob chunk list",
            digest: *blob,
            reason: format!("length {} is not a multiple of 40", list.len()),
        })?;
        let req = wire::PutChunkListRequest {
            digest: blob.0.to_vec(),
            chunks: chunks
                .iter()
                .map(|c| wire::ChunkMeta {
                    digest: c.digest.0.to_vec(),
                    size: c.size,
                })
                .collect(),
        };
        let mut u = self.upload();
        u.blobs.push(req);
        if u.blobs.len() >= UPLOAD_ITEMS {
            self.send(&mut u)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), Error> {
        let mut u = self.upload();
        self.send(&mut u)
    }

    fn list_blobs(&self) -> Result<Vec<B3Digest>, Error> {
        self.list(false)
    }

    fn list_chunks(&self) -> Result<Vec<B3Digest>, Error> {
        self.list(true)
    }
}

impl GrpcBlobService {
    fn list(&self, chunks: bool) -> Result<Vec<B3Digest>, Error> {
        self.flush()?;
        let mut c = self.client();
        self.conn.block_on(async {
            let s = c
                .list(wire::ListBlobsRequest { chunks })
                .await
                .map_err(|s| error_of(&s))?;
            collect_digests(s.into_inner()).await
        })
    }
}

/// Directories on a store server. Puts are buffered and sent as one stream
/// (children before parents, as they were put); reads answer from the buffer or
/// send it first.
pub struct GrpcDirectoryService {
    conn: Connection,
    pending: Mutex<Vec<(B3Digest, Directory)>>,
}

impl GrpcDirectoryService {
    pub fn new(conn: Connection) -> Self {
        GrpcDirectoryService {
            conn,
            pending: Mutex::default(),
        }
    }

    fn pending(&self) -> MutexGuard<'_, Vec<(B3Digest, Directory)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends the buffered directories (emptying the buffer even on failure).
    fn send(&self, pending: &mut Vec<(B3Digest, Directory)>) -> Result<(), Error> {
        let dirs = std::mem::take(pending);
        let Some(&(last, _)) = dirs.last() else {
            return Ok(());
        };
        let mut c = self.client();
        let stream = tokio_stream::iter(dirs.into_iter().map(|(_, d)| d));
        let r = self
            .conn
            .block_on(c.put(Request::new(stream)))
            .map_err(|s| error_of(&s))?;
        let got = digest_from_server(&r.into_inner().root_digest, "directory digest")?;
        if got != last {
            return Err(Error::Remote(format!(
                "sent directory {last} last, the server stored it as {got}"
            )));
        }
        Ok(())
    }

    fn client(&self) -> DirectoryServiceClient<Channel> {
        DirectoryServiceClient::new(self.conn.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    fn get(&self, digest: &B3Digest, recursive: bool) -> Result<Option<Vec<Directory>>, Error> {
        let mut c = self.client();
        let r = self.conn.block_on(async {
            let s = c
                .get(wire::GetDirectoryRequest {
                    digest: digest.0.to_vec(),
                    recursive,
                })
                .await?;
            collect(s.into_inner()).await
        });
        found(r)
    }
}

impl DirectoryService for GrpcDirectoryService {
    fn get_raw(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        if let Some((_, d)) = self.pending().iter().find(|(d, _)| d == digest) {
            return Ok(Some(d.encode_canonical()));
        }
        let Some(dirs) = self.get(digest, false)? else {
            return Ok(None);
        };
        let [dir] = &dirs[..] else {
            return Err(Error::Remote(format!(
                "asked for directory {digest}, the server sent {} directories",
                dirs.len()
            )));
        };
        let bytes = dir.encode_canonical();
        let actual = B3Digest::of(&bytes);
        if actual != *digest {
            return Err(Error::Corrupt {
                kind: "directory (from the server)",
                digest: *digest,
                actual,
            });
        }
        Ok(Some(bytes))
    }

    fn put_raw(&self, digest: &B3Digest, bytes: Vec<u8>) -> Result<(), Error> {
        let dir = Directory::decode(&bytes[..]).map_err(|e| Error::Malformed {
            kind: "directory",
            digest: *digest,
            reason: e.to_string(),
        })?;
        let mut pending = self.pending();
        pending.push((*digest, dir));
        if pending.len() >= UPLOAD_ITEMS {
            self.send(&mut pending)?;
        }
        Ok(())
    }

    fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        if self.pending().iter().any(|(d, _)| d == digest) {
            return Ok(true);
        }
        Ok(self.get(digest, false)?.is_some())
    }

    fn flush(&self) -> Result<(), Error> {
        let mut pending = self.pending();
        self.send(&mut pending)
    }

    fn list(&self) -> Result<Vec<B3Digest>, Error> {
        self.flush()?;
        let mut c = self.client();
        self.conn.block_on(async {
            let s = c.list(wire::Empty {}).await.map_err(|s| error_of(&s))?;
            collect_digests(s.into_inner()).await
        })
    }

    fn get_closure_raw(&self, root: &B3Digest) -> Result<Option<Vec<Vec<u8>>>, Error> {
        // Checked by the caller (`closure` on `dyn DirectoryService`).
        self.flush()?;
        let dirs = self.get(root, true)?.ok_or(Error::NotFound {
            kind: "directory",
            digest: *root,
        })?;
        Ok(Some(dirs.iter().map(|d| d.encode_canonical()).collect()))
    }
}
