//! Serving: one HTTP/2 listener routing each request by service name to one of
//! several generated servers (castore's here, tvix-store adds path info), run on a
//! runtime of its own so callers stay synchronous.

use std::convert::Infallible;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{http, BoxFuture, Service};
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::Status;

use crate::Error;

type Handler =
    Arc<dyn Fn(http::Request<Body>) -> BoxFuture<http::Response<Body>, Infallible> + Send + Sync>;

/// The services one server offers, keyed by their gRPC service name.
#[derive(Clone, Default)]
pub struct Routes {
    routes: Vec<(&'static str, Handler)>,
}

impl Routes {
    /// Adds a generated server (e.g. [`super::server::BlobServer::new`]).
    pub fn with<S>(mut self, svc: S) -> Self
    where
        S: Service<
                http::Request<Body>,
                Response = http::Response<Body>,
                Error = Infallible,
                Future = BoxFuture<http::Response<Body>, Infallible>,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
    {
        let handler: Handler = Arc::new(move |req| svc.clone().call(req));
        self.routes.push((S::NAME, handler));
        self
    }
}

impl Service<http::Request<Body>> for Routes {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The generated servers are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // Paths are `/package.Service/Method`.
        let service = req.uri().path().trim_start_matches('/');
        let service = service.split('/').next().unwrap_or("");
        match self.routes.iter().find(|(name, _)| *name == service) {
            Some((_, handler)) => handler(req),
            None => {
                let status = Status::unimplemented(format!("no service {service:?} here"));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

/// A running server; dropping it stops it.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), Error>>>,
}

impl ServerHandle {
    /// The address it listens on (with the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server ends (it only ends on an error or [`Self::stop`]).
    pub fn wait(mut self) -> Result<(), Error> {
        self.join()
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub fn stop(mut self) -> Result<(), Error> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.join()
    }

    fn join(&mut self) -> Result<(), Error> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(Error::Server("its thread panicked".into()))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.join();
    }
}

/// Starts serving `routes` on `listen` (`host:port`; port 0 picks a free one).
pub fn spawn(routes: Routes, listen: &str) -> Result<ServerHandle, Error> {
    let bad = |e: String| Error::Server(format!("cannot listen on {listen:?}: {e}"));
    let addr = listen
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("it resolves to no address".into()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("grpc-server")
        .enable_all()
        .build()?;
    let incoming = rt
        .block_on(async { TcpIncoming::bind(addr) })
        .map_err(|e| bad(e.to_string()))?
        .with_nodelay(Some(true));
    let addr = incoming.local_addr().map_err(|e| bad(e.to_string()))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("grpc-server".into())
        .spawn(move || {
            let served = rt.block_on(
                tonic::transport::Server::builder().serve_with_incoming_shutdown(
                    routes,
                    incoming,
                    async {
                        let _ = stopped.await;
                    },
                ),
            );
            served.map_err(|e| Error::Server(e.to_string()))
        })?;
    Ok(ServerHandle {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}
