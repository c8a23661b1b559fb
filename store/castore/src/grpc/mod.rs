//! The castore over gRPC (tonic): a server that wraps any [`crate::BlobService`] and
//! [`crate::DirectoryService`], and clients that implement those same traits, so the
//! verifying layer above them works unchanged over the network.
//!
//! The traits are synchronous, so a client owns a small tokio runtime and blocks on
//! it; the server runs backend calls on tokio's blocking pool. The server stores only
//! what it has checked itself (it hashes every chunk it receives, re-hashes a blob
//! before recording it, validates every directory); what it sends is checked by the
//! client (see [`client`]), just as the local backends' bytes are.

pub mod client;
pub mod serve;
pub mod server;
pub mod wire;

use std::sync::Arc;

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::{B3Digest, Error};

/// Generated client and server stubs (see `build.rs`).
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/tvix.castore.v1.BlobService.rs"));
    include!(concat!(
        env!("OUT_DIR"),
        "/tvix.castore.v1.DirectoryService.rs"
    ));
}

/// Largest message either side accepts: a directory with very many entries can be
/// several megabytes; chunks are at most [`crate::blob::MAX_CHUNK`].
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// How many digests one `DigestList` message carries.
pub const DIGESTS_PER_MESSAGE: usize = 4096;

/// A connection to a store server: one HTTP/2 channel, shared by the clients of all
/// services, and the runtime that drives it.
#[derive(Clone)]
pub struct Connection {
    rt: Arc<tokio::runtime::Runtime>,
    channel: Channel,
    addr: String,
}

impl Connection {
    /// Connects to `host:port` over plain HTTP/2 (no TLS).
    pub fn connect(addr: &str) -> Result<Connection, Error> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("grpc-client")
            .enable_all()
            .build()?;
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| Error::Remote(format!("invalid address {addr:?}: {e}")))?
            .tcp_nodelay(true)
            .connect_timeout(std::time::Duration::from_secs(10));
        let channel = rt.block_on(endpoint.connect()).map_err(|e| {
            Error::Remote(format!("cannot connect to {addr}: {}", source_chain(&e)))
        })?;
        Ok(Connection {
            rt: Arc::new(rt),
            channel,
            addr: addr.to_owned(),
        })
    }

    /// Runs a request to completion on the connection's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// How a castore error travels to a client.
pub fn status_of(e: &Error) -> Status {
    let code = match e {
        Error::NotFound { .. } => Code::NotFound,
        Error::Corrupt { .. } | Error::Malformed { .. } => Code::DataLoss,
        Error::InvalidDirectory { .. } => Code::InvalidArgument,
        Error::Busy { .. } => Code::Unavailable,
        Error::UnsupportedFormat { .. } => Code::FailedPrecondition,
        Error::Storage(_) | Error::Io(_) | Error::Remote(_) | Error::Server(_) => Code::Internal,
    };
    Status::new(code, e.to_string())
}

/// A status from the server as a castore error.
pub fn error_of(s: &Status) -> Error {
    Error::Remote(format!("{:?}: {}", s.code(), s.message()))
}

/// A digest field from the wire.
#[allow(clippy::result_large_err)] // tonic's Status is what handlers return
pub fn digest_arg(bytes: &[u8], what: &str) -> Result<B3Digest, Status> {
    B3Digest::try_from(bytes).map_err(|e| Status::invalid_argument(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests;
