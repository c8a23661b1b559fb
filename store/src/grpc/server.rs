//! The path info service over gRPC. A path info is stored only if it is valid and
//! its contents are already in the server's castore, so no client can make a path
//! appear whose contents are missing. What it sends is passed through as stored;
//! clients check it.

#![allow(clippy::result_large_err)] // tonic's Status is what handlers return

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};
use tvix_castore::grpc::server::{blocking, blocking_stream, BlockingStream};
use tvix_castore::grpc::MAX_MESSAGE;
use tvix_castore::proto::node;
use tvix_castore::{B3Digest, BlobService, DirectoryService};

use super::generated::path_info_service_server::{self, PathInfoServiceServer};
use super::status_of;
use super::wire::{GetPathInfoRequest, ListPathInfoRequest, PathInfoProto};
use crate::pathinfo_service::{PathInfoService, PathKey};
use crate::{PathInfo, Store};

pub struct PathInfoServer {
    paths: Arc<dyn PathInfoService>,
    blobs: Arc<dyn BlobService>,
    dirs: Arc<dyn DirectoryService>,
}

impl PathInfoServer {
    pub fn new(store: &Store) -> PathInfoServiceServer<PathInfoServer> {
        PathInfoServiceServer::new(PathInfoServer {
            paths: store.paths.clone(),
            blobs: store.blobs.clone(),
            dirs: store.dirs.clone(),
        })
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
    }
}

fn castore(e: tvix_castore::Error) -> Status {
    tvix_castore::grpc::status_of(&e)
}

/// Checks that the root node's contents are stored, with the size it claims.
fn check_contents(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    info: &PathInfo,
) -> Result<(), Status> {
    let missing = |what: &str| {
        Status::failed_precondition(format!(
            "the {what} of {} is not stored; upload it first",
            info.store_path
        ))
    };
    match &info.node.node {
        Some(node::Node::Directory(d)) => {
            let digest = B3Digest::try_from(&d.digest[..]).expect("validated node");
            let dir = dirs
                .get(&digest)
                .map_err(castore)?
                .ok_or_else(|| missing("root directory"))?;
            let size = dir
                .size()
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            if size != d.size {
                return Err(Status::invalid_argument(format!(
                    "root directory claims size {}, it has {size}",
                    d.size
                )));
            }
        }
        Some(node::Node::File(f)) => {
            let digest = B3Digest::try_from(&f.digest[..]).expect("validated node");
            let chunks = blobs
                .chunks(&digest)
                .map_err(castore)?
                .ok_or_else(|| missing("file"))?;
            let size: u64 = chunks.iter().map(|c| c.size).sum();
            if size != f.size {
                return Err(Status::invalid_argument(format!(
                    "root file claims size {}, its blob has {size}",
                    f.size
                )));
            }
        }
        Some(node::Node::Symlink(_)) | None => {}
    }
    Ok(())
}

#[tonic::async_trait]
impl path_info_service_server::PathInfoService for PathInfoServer {
    async fn get(
        &self,
        request: Request<GetPathInfoRequest>,
    ) -> Result<Response<PathInfoProto>, Status> {
        let key: PathKey = request.get_ref().digest[..]
            .try_into()
            .map_err(|_| Status::invalid_argument("a store path digest is 20 bytes"))?;
        let paths = self.paths.clone();
        let bytes = blocking(move || paths.get_raw(&key).map_err(|e| status_of(&e)))
            .await?
            .ok_or_else(|| {
                Status::not_found(format!(
                    "{} is not in the store",
                    nix_compat::nixbase32::encode(&key)
                ))
            })?;
        let info = PathInfoProto::decode(&bytes[..])
            .map_err(|e| Status::data_loss(format!("stored path info does not decode: {e}")))?;
        Ok(Response::new(info))
    }

    async fn put(
        &self,
        request: Request<PathInfoProto>,
    ) -> Result<Response<PathInfoProto>, Status> {
        let sent = request.into_inner();
        let info = PathInfo::decode(&sent.encode_to_vec(), &sent.store_path)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let (paths, blobs, dirs) = (self.paths.clone(), self.blobs.clone(), self.dirs.clone());
        let stored = blocking(move || {
            check_contents(&*blobs, &*dirs, &info)?;
            paths.put(&info).map_err(|e| status_of(&e))?;
            Ok(info.encode())
        })
        .await?;
        let stored = PathInfoProto::decode(&stored[..]).expect("we just encoded it");
        Ok(Response::new(stored))
    }

    type ListStream = BlockingStream<PathInfoProto>;

    async fn list(
        &self,
        _request: Request<ListPathInfoRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        let paths = self.paths.clone();
        Ok(Response::new(blocking_stream(move |send| {
            for (key, bytes) in paths.list_raw().map_err(|e| status_of(&e))? {
                // An entry that does not decode goes out as one naming no valid
                // path, so the client reports it in place, as a local list does.
                let info = PathInfoProto::decode(&bytes[..]).unwrap_or_else(|_| PathInfoProto {
                    store_path: nix_compat::nixbase32::encode(&key),
                    ..Default::default()
                });
                if !send(info) {
                    break;
                }
            }
            Ok(())
        })))
    }
}
