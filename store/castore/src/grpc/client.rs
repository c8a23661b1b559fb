//! Clients of the castore services, implementing [`BlobService`] and
//! [`DirectoryService`]. Each checks what it receives before handing it on: a chunk
//! must hash to the digest asked for, a directory must hash to its digest and be
//! valid, a closure must contain exactly the directories reachable from its root,
//! and a digest the server reports for something stored must be the one we sent.

use tonic::{Code, Request, Status, Streaming};

use super::generated::blob_service_client::BlobServiceClient;
use super::generated::directory_service_client::DirectoryServiceClient;
use super::wire::{self, BlobChunk};
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

/// Blobs on a store server.
pub struct GrpcBlobService {
    conn: Connection,
}

impl GrpcBlobService {
    pub fn new(conn: Connection) -> Self {
        GrpcBlobService { conn }
    }

    fn client(&self) -> BlobServiceClient<Channel> {
        BlobServiceClient::new(self.conn.channel())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }
}

impl BlobService for GrpcBlobService {
    fn get_chunk(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
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
        let mut c = self.client();
        let r = self.conn.block_on(c.has_chunk(wire::HasChunkRequest {
            digest: digest.0.to_vec(),
        }));
        Ok(r.map_err(|s| error_of(&s))?.into_inner().present)
    }

    fn put_chunks(&self, chunks: &ChunkBatch) -> Result<(), Error> {
        let digests: Vec<B3Digest> = chunks.iter().map(|(d, _, _)| d).collect();
        let messages: Vec<BlobChunk> = chunks
            .iter()
            .map(|(_, _, pieces)| BlobChunk {
                data: join_pieces(pieces),
            })
            .collect();
        let stream = tokio_stream::iter(messages);
        let mut c = self.client();
        let r = self.conn.block_on(c.put_chunks(Request::new(stream)));
        let stored = r.map_err(|s| error_of(&s))?.into_inner().digests;
        if stored.len() != digests.len() {
            return Err(Error::Remote(format!(
                "sent {} chunks, the server stored {}",
                digests.len(),
                stored.len()
            )));
        }
        for (sent, got) in digests.iter().zip(&stored) {
            let got = digest_from_server(got, "chunk digest")?;
            if got != *sent {
                return Err(Error::Remote(format!(
                    "sent chunk {sent}, the server stored it as {got}"
                )));
            }
        }
        Ok(())
    }

    fn get_chunk_list(&self, blob: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
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
        let mut c = self.client();
        self.conn
            .block_on(c.put_chunk_list(req))
            .map_err(|s| error_of(&s))?;
        Ok(())
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

/// Directories on a store server.
pub struct GrpcDirectoryService {
    conn: Connection,
}

impl GrpcDirectoryService {
    pub fn new(conn: Connection) -> Self {
        GrpcDirectoryService { conn }
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
        let mut c = self.client();
        let r = self
            .conn
            .block_on(c.put(Request::new(tokio_stream::iter([dir]))))
            .map_err(|s| error_of(&s))?;
        let got = digest_from_server(&r.into_inner().root_digest, "directory digest")?;
        if got != *digest {
            return Err(Error::Remote(format!(
                "sent directory {digest}, the server stored it as {got}"
            )));
        }
        Ok(())
    }

    fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        Ok(self.get(digest, false)?.is_some())
    }

    fn list(&self) -> Result<Vec<B3Digest>, Error> {
        let mut c = self.client();
        self.conn.block_on(async {
            let s = c.list(wire::Empty {}).await.map_err(|s| error_of(&s))?;
            collect_digests(s.into_inner()).await
        })
    }

    fn get_closure_raw(&self, root: &B3Digest) -> Result<Option<Vec<Vec<u8>>>, Error> {
        // Checked by the caller (`closure` on `dyn DirectoryService`).
        let dirs = self.get(root, true)?.ok_or(Error::NotFound {
            kind: "directory",
            digest: *root,
        })?;
        Ok(Some(dirs.iter().map(|d| d.encode_canonical()).collect()))
    }
}
