//! The castore services over gRPC, wrapping any backend. Backend calls run on
//! tokio's blocking pool; a failing or panicking call fails only its own request.
//!
//! What the server sends is passed through as stored (clients check it, as the
//! verifying layer checks a local backend's bytes); what it stores it checks first.

#![allow(clippy::result_large_err)] // tonic's Status is what handlers return

use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::generated::blob_service_server::{self, BlobServiceServer};
use super::generated::directory_service_server::{self, DirectoryServiceServer};
use super::wire::blob_upload::Item;
use super::wire::{self, BlobChunk, BlobUpload, DigestList, Directory};
use super::{digest_arg, status_of, DIGESTS_PER_MESSAGE, MAX_MESSAGE};
use crate::blob::{encode_chunk_list, ChunkBatch, MAX_CHUNK};
use crate::{B3Digest, BlobService, ChunkMeta, DirectoryService, Error};

use prost::Message;

/// A stream of responses produced on the blocking pool.
pub type BlockingStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Runs a backend call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("the store failed: {e}")))?
}

/// Streams what `produce` sends (on the blocking pool); it gets `false` back once
/// the client has gone, and an error it returns ends the stream.
pub fn blocking_stream<T: Send + 'static>(
    produce: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), Status> + Send + 'static,
) -> BlockingStream<T> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut send = |item: T| tx.blocking_send(Ok(item)).is_ok();
        if let Err(status) = produce(&mut send) {
            let _ = tx.blocking_send(Err(status));
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

/// Sends digests in batches.
pub fn send_digests(
    digests: Vec<B3Digest>,
    send: &mut dyn FnMut(DigestList) -> bool,
) -> Result<(), Status> {
    for batch in digests.chunks(DIGESTS_PER_MESSAGE) {
        let msg = DigestList {
            digests: batch.iter().map(|d| d.0.to_vec()).collect(),
        };
        if !send(msg) {
            break;
        }
    }
    Ok(())
}

fn castore(e: Error) -> Status {
    status_of(&e)
}

fn not_found(kind: &str, digest: &B3Digest) -> Status {
    Status::not_found(format!("{kind} {digest} not found"))
}

/// What a `Read` names: a chunk (sent as stored), or a blob (its chunks as
/// stored, one message each).
enum Readable {
    Chunk(Vec<u8>),
    Blob(Vec<ChunkMeta>),
}

pub struct BlobServer {
    svc: Arc<dyn BlobService>,
}

/// Blobs recorded per backend call while a `Put` stream is read.
const BLOBS_PER_CALL: usize = 1024;

/// What a `Put` stream has brought since the last backend call.
#[derive(Default)]
struct Received {
    chunks: Vec<(B3Digest, bytes::Bytes)>,
    bytes: usize,
    blobs: Vec<(B3Digest, Vec<ChunkMeta>)>,
}

impl BlobServer {
    /// Stores the chunks, then records the blobs that are not recorded yet, each
    /// once its chunks are checked against it.
    async fn store(&self, up: Received) -> Result<(), Status> {
        if up.chunks.is_empty() && up.blobs.is_empty() {
            return Ok(());
        }
        let svc = self.svc.clone();
        blocking(move || {
            if !up.chunks.is_empty() {
                svc.put_chunks(&ChunkBatch::of(up.chunks))
                    .map_err(castore)?;
            }
            for (blob, chunks) in up.blobs {
                if svc.get_chunk_list(&blob).map_err(castore)?.is_some() {
                    continue;
                }
                check_chunk_list(&*svc, &blob, &chunks)?;
                svc.put_chunk_list(&blob, encode_chunk_list(&chunks))
                    .map_err(castore)?;
            }
            Ok(())
        })
        .await
    }
}

impl BlobServer {
    pub fn new(svc: Arc<dyn BlobService>) -> BlobServiceServer<BlobServer> {
        BlobServiceServer::new(BlobServer { svc })
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }
}

/// Checks a chunk list against the chunks stored and the blob digest, re-reading
/// the chunks: a client must not be able to record a blob that reads as corrupt.
fn check_chunk_list(
    svc: &dyn BlobService,
    blob: &B3Digest,
    chunks: &[ChunkMeta],
) -> Result<(), Status> {
    let mut hasher = blake3::Hasher::new();
    for c in chunks {
        let data = svc.get_chunk(&c.digest).map_err(castore)?.ok_or_else(|| {
            Status::failed_precondition(format!("chunk {} is not stored", c.digest))
        })?;
        if data.len() as u64 != c.size {
            return Err(Status::invalid_argument(format!(
                "chunk {} has {} bytes, the list says {}",
                c.digest,
                data.len(),
                c.size
            )));
        }
        hasher.update(&data);
    }
    let actual = B3Digest::from(hasher.finalize());
    if actual != *blob {
        return Err(Status::invalid_argument(format!(
            "the chunks of blob {blob} hash to {actual}"
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl blob_service_server::BlobService for BlobServer {
    async fn stat(
        &self,
        request: Request<wire::StatBlobRequest>,
    ) -> Result<Response<wire::StatBlobResponse>, Status> {
        let digest = digest_arg(&request.get_ref().digest, "digest")?;
        let svc = self.svc.clone();
        let chunks = blocking(move || (&*svc as &dyn BlobService).chunks(&digest).map_err(castore))
            .await?
            .ok_or_else(|| not_found("blob", &digest))?;
        Ok(Response::new(wire::StatBlobResponse {
            chunks: chunks
                .iter()
                .map(|c| wire::ChunkMeta {
                    digest: c.digest.0.to_vec(),
                    size: c.size,
                })
                .collect(),
        }))
    }

    type ReadStream = BlockingStream<BlobChunk>;

    async fn read(
        &self,
        request: Request<wire::ReadBlobRequest>,
    ) -> Result<Response<Self::ReadStream>, Status> {
        let digest = digest_arg(&request.get_ref().digest, "digest")?;
        let svc = self.svc.clone();
        // Look the digest up before answering, so "not found" is the call's status.
        let (svc2, d) = (svc.clone(), digest);
        let what = blocking(move || {
            let svc = &*svc2 as &dyn BlobService;
            if let Some(data) = svc.get_chunk(&d).map_err(castore)? {
                return Ok(Some(Readable::Chunk(data)));
            }
            Ok(svc.chunks(&d).map_err(castore)?.map(Readable::Blob))
        })
        .await?
        .ok_or_else(|| not_found("blob", &digest))?;
        Ok(Response::new(blocking_stream(move |send| {
            match what {
                Readable::Chunk(data) => {
                    send(BlobChunk { data });
                }
                Readable::Blob(chunks) => {
                    for c in chunks {
                        let data = svc
                            .get_chunk(&c.digest)
                            .map_err(castore)?
                            .ok_or_else(|| not_found("chunk", &c.digest))?;
                        if !send(BlobChunk { data }) {
                            break;
                        }
                    }
                }
            }
            Ok(())
        })))
    }

    async fn missing_chunks(
        &self,
        request: Request<DigestList>,
    ) -> Result<Response<DigestList>, Status> {
        let digests = request
            .get_ref()
            .digests
            .iter()
            .map(|d| digest_arg(d, "digest"))
            .collect::<Result<Vec<_>, Status>>()?;
        let svc = self.svc.clone();
        let missing = blocking(move || {
            let mut out = Vec::new();
            for d in digests {
                if !svc.has_chunk(&d).map_err(castore)? {
                    out.push(d.0.to_vec());
                }
            }
            Ok(out)
        })
        .await?;
        Ok(Response::new(DigestList { digests: missing }))
    }

    async fn put(
        &self,
        request: Request<Streaming<BlobUpload>>,
    ) -> Result<Response<wire::PutChunksResponse>, Status> {
        let mut stream = request.into_inner();
        let mut up = Received::default();
        let mut digests = Vec::new();
        while let Some(msg) = stream.message().await? {
            match msg.item {
                Some(Item::Chunk(data)) => {
                    if data.len() > MAX_CHUNK {
                        return Err(Status::invalid_argument(format!(
                            "a chunk of {} bytes is larger than the largest chunk ({MAX_CHUNK})",
                            data.len()
                        )));
                    }
                    // Named by what we compute, never by what a client claims.
                    let d = B3Digest::of(&data);
                    digests.push(d.0.to_vec());
                    up.bytes += data.len();
                    up.chunks.push((d, data));
                }
                Some(Item::Blob(req)) => {
                    let blob = digest_arg(&req.digest, "digest")?;
                    let chunks = req
                        .chunks
                        .iter()
                        .map(|c| {
                            Ok(ChunkMeta {
                                digest: digest_arg(&c.digest, "chunk digest")?,
                                size: c.size,
                            })
                        })
                        .collect::<Result<Vec<_>, Status>>()?;
                    up.blobs.push((blob, chunks));
                }
                None => return Err(Status::invalid_argument("an empty upload item")),
            }
            if up.bytes >= 8 * MAX_CHUNK || up.blobs.len() >= BLOBS_PER_CALL {
                self.store(std::mem::take(&mut up)).await?;
            }
        }
        self.store(up).await?;
        Ok(Response::new(wire::PutChunksResponse { digests }))
    }

    type ListStream = BlockingStream<DigestList>;

    async fn list(
        &self,
        request: Request<wire::ListBlobsRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        let chunks = request.get_ref().chunks;
        let svc = self.svc.clone();
        Ok(Response::new(blocking_stream(move |send| {
            let all = if chunks {
                svc.list_chunks()
            } else {
                svc.list_blobs()
            };
            send_digests(all.map_err(castore)?, send)
        })))
    }
}

pub struct DirectoryServer {
    svc: Arc<dyn DirectoryService>,
}

impl DirectoryServer {
    pub fn new(svc: Arc<dyn DirectoryService>) -> DirectoryServiceServer<DirectoryServer> {
        DirectoryServiceServer::new(DirectoryServer { svc })
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }
}

/// A stored directory as sent: decoded but not checked (the client checks).
fn stored_directory(svc: &dyn DirectoryService, digest: &B3Digest) -> Result<Directory, Status> {
    let bytes = svc
        .get_raw(digest)
        .map_err(castore)?
        .ok_or_else(|| not_found("directory", digest))?;
    Directory::decode(&bytes[..])
        .map_err(|e| Status::data_loss(format!("stored directory {digest} does not decode: {e}")))
}

#[tonic::async_trait]
impl directory_service_server::DirectoryService for DirectoryServer {
    type GetStream = BlockingStream<Directory>;

    async fn get(
        &self,
        request: Request<wire::GetDirectoryRequest>,
    ) -> Result<Response<Self::GetStream>, Status> {
        let req = request.into_inner();
        let root = digest_arg(&req.digest, "digest")?;
        let svc = self.svc.clone();
        let (svc2, r) = (svc.clone(), root);
        let first = blocking(move || stored_directory(&*svc2, &r)).await?;
        Ok(Response::new(blocking_stream(move |send| {
            if !req.recursive {
                send(first);
                return Ok(());
            }
            // Breadth first, each directory once: parents before children.
            let mut seen = std::collections::HashSet::from([root]);
            let mut queue = std::collections::VecDeque::new();
            let mut next = Some(first);
            while let Some(dir) = next.take() {
                for child in &dir.directories {
                    if let Ok(d) = B3Digest::try_from(&child.digest[..]) {
                        if seen.insert(d) {
                            queue.push_back(d);
                        }
                    }
                }
                if !send(dir) {
                    return Ok(());
                }
                if let Some(d) = queue.pop_front() {
                    next = Some(stored_directory(&*svc, &d)?);
                }
            }
            Ok(())
        })))
    }

    async fn put(
        &self,
        request: Request<Streaming<Directory>>,
    ) -> Result<Response<wire::PutDirectoryResponse>, Status> {
        let mut stream = request.into_inner();
        let mut last = None;
        while let Some(dir) = stream.message().await? {
            let svc = self.svc.clone();
            // Validated, and its subdirectories must be stored already.
            let d = blocking(move || (&*svc as &dyn DirectoryService).put(&dir).map_err(castore))
                .await?;
            last = Some(d);
        }
        let root = last.ok_or_else(|| Status::invalid_argument("no directories sent"))?;
        Ok(Response::new(wire::PutDirectoryResponse {
            root_digest: root.0.to_vec(),
        }))
    }

    type ListStream = BlockingStream<DigestList>;

    async fn list(
        &self,
        _request: Request<wire::Empty>,
    ) -> Result<Response<Self::ListStream>, Status> {
        let svc = self.svc.clone();
        Ok(Response::new(blocking_stream(move |send| {
            send_digests(svc.list().map_err(castore)?, send)
        })))
    }
}
