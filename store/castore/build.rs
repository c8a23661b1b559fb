//! Generates the gRPC client and server stubs of the castore services with
//! tonic-build's `manual` generator: no protoc and no .proto parsing at build time.
//! The messages are hand-written prost types in `src/grpc/wire.rs`, like the rest of
//! the castore's protobuf, so only the service plumbing is generated here.

use tonic_build::manual::{Method, Service};

const CODEC: &str = "tonic::codec::ProstCodec";

fn method(
    name: &str,
    route: &str,
    input: &str,
    output: &str,
) -> tonic_build::manual::MethodBuilder {
    Method::builder()
        .name(name)
        .route_name(route)
        .input_type(format!("crate::grpc::wire::{input}"))
        .output_type(format!("crate::grpc::wire::{output}"))
        .codec_path(CODEC)
}

fn main() {
    let blobs = Service::builder()
        .name("BlobService")
        .package("tvix.castore.v1")
        .method(method("stat", "Stat", "StatBlobRequest", "StatBlobResponse").build())
        .method(
            method("read", "Read", "ReadBlobRequest", "BlobChunk")
                .server_streaming()
                .build(),
        )
        .method(
            method(
                "missing_chunks",
                "MissingChunks",
                "DigestList",
                "DigestList",
            )
            .build(),
        )
        .method(
            method("put", "Put", "BlobUpload", "PutChunksResponse")
                .client_streaming()
                .build(),
        )
        .method(
            method("list", "List", "ListBlobsRequest", "DigestList")
                .server_streaming()
                .build(),
        )
        .build();
    let directories = Service::builder()
        .name("DirectoryService")
        .package("tvix.castore.v1")
        .method(
            method("get", "Get", "GetDirectoryRequest", "Directory")
                .server_streaming()
                .build(),
        )
        .method(
            method("put", "Put", "Directory", "PutDirectoryResponse")
                .client_streaming()
                .build(),
        )
        .method(
            method("list", "List", "Empty", "DigestList")
                .server_streaming()
                .build(),
        )
        .build();
    tonic_build::manual::Builder::new()
        .build_transport(false)
        .compile(&[blobs, directories]);
}
