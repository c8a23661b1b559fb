//! The path info service over gRPC, and the daemon that serves a whole store
//! (castore's blob and directory services beside it, on one listener).

pub mod client;
pub mod server;
pub mod wire;

use tonic::{Code, Status};
use tvix_castore::grpc::serve::{self, Routes, ServerHandle};
use tvix_castore::grpc::server::{BlobServer, DirectoryServer};

use crate::{Error, Store};

pub use client::GrpcPathInfoService;

/// Generated client and server stubs (see `build.rs`).
pub mod generated {
    include!(concat!(
        env!("OUT_DIR"),
        "/tvix.store.v1.PathInfoService.rs"
    ));
}

/// Serves `store` on `listen` (`host:port`; port 0 picks a free port, see
/// [`ServerHandle::local_addr`]) until the handle is stopped or dropped.
pub fn serve(store: &Store, listen: &str) -> Result<ServerHandle, Error> {
    let routes = Routes::default()
        .with(BlobServer::new(store.blobs.clone()))
        .with(DirectoryServer::new(store.dirs.clone()))
        .with(server::PathInfoServer::new(store));
    Ok(serve::spawn(routes, listen)?)
}

/// How a store error travels to a client.
fn status_of(e: &Error) -> Status {
    let code = match e {
        Error::Castore(c) => return tvix_castore::grpc::status_of(c),
        Error::CorruptPathInfo { .. } => Code::DataLoss,
        Error::InvalidStorePath { .. } | Error::SizeMismatch { .. } => Code::InvalidArgument,
        Error::PathNotFound(_) => Code::NotFound,
        _ => Code::Internal,
    };
    Status::new(code, e.to_string())
}

/// A status from the server as a store error.
fn error_of(s: &Status) -> Error {
    Error::Castore(tvix_castore::grpc::error_of(s))
}
