//! The messages of the castore's gRPC services, as prost types (like
//! [`crate::proto`]; field numbers follow tvix's `castore/v1/rpc_*.proto` where a
//! message exists there). The services themselves are described in `build.rs`:
//!
//! ```text
//! service BlobService {
//!   rpc Stat(StatBlobRequest) returns (StatBlobResponse);      // a blob's chunk list
//!   rpc Read(ReadBlobRequest) returns (stream BlobChunk);      // a chunk, or a blob chunk by chunk
//!   rpc MissingChunks(DigestList) returns (DigestList);        // those of these not stored
//!   rpc Put(stream BlobUpload) returns (PutChunksResponse);    // chunks, then blobs made of them
//!   rpc List(ListBlobsRequest) returns (stream DigestList);
//! }
//! service DirectoryService {
//!   rpc Get(GetDirectoryRequest) returns (stream Directory);   // parents before children
//!   rpc Put(stream Directory) returns (PutDirectoryResponse);  // children before parents
//!   rpc List(Empty) returns (stream DigestList);
//! }
//! ```

pub use crate::proto::Directory;

#[derive(Clone, PartialEq, prost::Message)]
pub struct StatBlobRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub digest: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChunkMeta {
    #[prost(bytes = "vec", tag = "1")]
    pub digest: Vec<u8>,
    #[prost(uint64, tag = "2")]
    pub size: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StatBlobResponse {
    #[prost(message, repeated, tag = "2")]
    pub chunks: Vec<ChunkMeta>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadBlobRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub digest: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BlobChunk {
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
}

/// One item of a `Put` stream: a chunk, or a blob to record from chunks sent
/// earlier in the stream or stored before.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BlobUpload {
    #[prost(oneof = "blob_upload::Item", tags = "1, 2")]
    pub item: Option<blob_upload::Item>,
}

pub mod blob_upload {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Item {
        #[prost(bytes = "bytes", tag = "1")]
        Chunk(bytes::Bytes),
        #[prost(message, tag = "2")]
        Blob(super::PutChunkListRequest),
    }
}

/// The digest the server computed for each chunk received, in order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutChunksResponse {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub digests: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PutChunkListRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub digest: Vec<u8>,
    #[prost(message, repeated, tag = "2")]
    pub chunks: Vec<ChunkMeta>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListBlobsRequest {
    /// List chunks instead of blobs.
    #[prost(bool, tag = "1")]
    pub chunks: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DigestList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub digests: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetDirectoryRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub digest: Vec<u8>,
    /// Also send every directory below it.
    #[prost(bool, tag = "2")]
    pub recursive: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PutDirectoryResponse {
    #[prost(bytes = "vec", tag = "1")]
    pub root_digest: Vec<u8>,
}
