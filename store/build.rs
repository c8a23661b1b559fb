//! Generates the gRPC stubs of the path info service with tonic-build's `manual`
//! generator (no protoc); the messages are prost types in `src/grpc/wire.rs` and
//! `src/pathinfo.rs`.

use tonic_build::manual::{Method, Service};

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
        .codec_path("tonic::codec::ProstCodec")
}

fn main() {
    let paths = Service::builder()
        .name("PathInfoService")
        .package("tvix.store.v1")
        .method(method("get", "Get", "GetPathInfoRequest", "PathInfoProto").build())
        .method(method("put", "Put", "PathInfoProto", "PathInfoProto").build())
        .method(
            method("list", "List", "ListPathInfoRequest", "PathInfoProto")
                .server_streaming()
                .build(),
        )
        .build();
    tonic_build::manual::Builder::new()
        .build_transport(false)
        .compile(&[paths]);
}
