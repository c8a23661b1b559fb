//! The castore over gRPC on loopback: round trips, checks on both sides, and a
//! server that keeps serving after bad requests.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use super::client::{GrpcBlobService, GrpcDirectoryService};
use super::generated::blob_service_client::BlobServiceClient;
use super::serve::{spawn, Routes, ServerHandle};
use super::server::{BlobServer, DirectoryServer};
use super::{wire, Connection};
use crate::blob::{ChunkBatch, MAX_CHUNK};
use crate::test_data::random_bytes as bytes;
use crate::{
    B3Digest, BlobService, Directory, DirectoryNode, DirectoryService, Error, FileNode,
    MemoryBlobService, MemoryDirectoryService,
};

struct Fixture {
    blobs: Arc<MemoryBlobService>,
    dirs: Arc<MemoryDirectoryService>,
    _server: ServerHandle,
    conn: Connection,
}

fn fixture() -> Fixture {
    let blobs = Arc::new(MemoryBlobService::default());
    let dirs = Arc::new(MemoryDirectoryService::default());
    let routes = Routes::default()
        .with(BlobServer::new(blobs.clone()))
        .with(DirectoryServer::new(dirs.clone()));
    let server = spawn(routes, "127.0.0.1:0").unwrap();
    let conn = Connection::connect(&server.local_addr().to_string()).unwrap();
    Fixture {
        blobs,
        dirs,
        _server: server,
        conn,
    }
}

fn file(name: &str, data: &[u8]) -> FileNode {
    FileNode {
        name: name.into(),
        digest: B3Digest::of(data).0.to_vec(),
        size: data.len() as u64,
        executable: false,
    }
}

/// A directory `top` holding `sub` (holding one file) twice under two names.
fn tree() -> (Directory, Directory) {
    let sub = Directory {
        files: vec![file("f", b"x")],
        ..Default::default()
    };
    let node = |name: &str| DirectoryNode {
        name: name.into(),
        digest: sub.digest().0.to_vec(),
        size: sub.size().unwrap(),
    };
    let top = Directory {
        directories: vec![node("a"), node("b")],
        ..Default::default()
    };
    (top, sub)
}

#[test]
fn blobs_round_trip() {
    let f = fixture();
    let client = GrpcBlobService::new(f.conn.clone());
    let svc: &dyn BlobService = &client;
    for len in [0usize, 1, 1000, 3 * MAX_CHUNK + 17] {
        let data = bytes(len, len as u64 + 1);
        let d = svc.put_bytes(&data).unwrap();
        assert_eq!(d, B3Digest::of(&data));
        assert!(svc.has(&d).unwrap());
        // Stored on the server, and read back through it.
        assert!((&*f.blobs as &dyn BlobService).has(&d).unwrap());
        assert_eq!(svc.read_to_vec(&d).unwrap(), data);
        svc.verify(&d).unwrap();
    }
    let big = bytes(3 * MAX_CHUNK + 17, 3 * MAX_CHUNK as u64 + 18);
    let d = B3Digest::of(&big);
    let mut r = svc.open_read(&d).unwrap().unwrap();
    r.seek(SeekFrom::Start(2 * MAX_CHUNK as u64 + 5)).unwrap();
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, big[2 * MAX_CHUNK + 5..]);
    assert!(svc.open_read(&B3Digest::of(b"absent")).unwrap().is_none());
    let mut listed = svc.list_blobs().unwrap();
    let mut expected = f.blobs.list_blobs().unwrap();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(svc.list_chunks().unwrap().len(), f.blobs.chunk_count());
}

#[test]
fn directories_round_trip_and_closure() {
    let f = fixture();
    let client = GrpcDirectoryService::new(f.conn.clone());
    let svc: &dyn DirectoryService = &client;
    let (top, sub) = tree();
    // A parent before its children is refused by the server.
    assert!(svc.put(&top).is_err());
    let sd = svc.put(&sub).unwrap();
    let td = svc.put(&top).unwrap();
    assert_eq!(svc.get(&td).unwrap(), Some(top.clone()));
    assert!(svc.has(&sd).unwrap());
    assert!(!svc.has(&B3Digest::of(b"none")).unwrap());
    assert_eq!(svc.get(&B3Digest::of(b"none")).unwrap(), None);
    // The closure comes in one request, each directory once, parents first.
    let closure = svc.closure(&td).unwrap();
    assert_eq!(closure, vec![(td, top), (sd, sub)]);
    assert_eq!(svc.list().unwrap().len(), 2);
}

#[test]
fn client_detects_corrupt_data_from_the_server() {
    let f = fixture();
    let blobs = GrpcBlobService::new(f.conn.clone());
    let data = bytes(2 * MAX_CHUNK + 3, 7);
    let d = (&blobs as &dyn BlobService).put_bytes(&data).unwrap();
    let chunk = f.blobs.list_chunks().unwrap()[0];
    f.blobs
        .corrupt_chunk_for_test(&chunk, b"not what was stored".to_vec());
    // The server passes stored bytes through; the client notices.
    match blobs.get_chunk(&chunk) {
        Err(Error::Corrupt { digest, .. }) => assert_eq!(digest, chunk),
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(matches!(
        (&blobs as &dyn BlobService).read_to_vec(&d),
        Err(Error::Corrupt { .. })
    ));

    let dirs = GrpcDirectoryService::new(f.conn.clone());
    let svc: &dyn DirectoryService = &dirs;
    let (top, sub) = tree();
    let sd = svc.put(&sub).unwrap();
    let td = svc.put(&top).unwrap();
    svc.flush().unwrap();
    // A valid directory, but not the one stored under that digest.
    let other = Directory {
        files: vec![file("g", b"y")],
        ..Default::default()
    };
    f.dirs.corrupt_for_test(&sd, other.encode_canonical());
    assert!(matches!(svc.get(&sd), Err(Error::Corrupt { .. })));
    assert!(svc.closure(&td).is_err());
}

#[test]
fn server_refuses_bad_writes_and_keeps_serving() {
    let f = fixture();
    let blobs = GrpcBlobService::new(f.conn.clone());
    // A chunk list whose chunks do not hash to the blob's digest.
    let data = bytes(100, 1);
    let cd = B3Digest::of(&data);
    blobs
        .put_chunks(&ChunkBatch::of([(cd, data.clone().into())]))
        .unwrap();
    blobs.flush().unwrap();
    let wrong = B3Digest::of(b"something else");
    let list = crate::blob::encode_chunk_list(&[crate::ChunkMeta {
        digest: cd,
        size: 100,
    }]);
    // Writes are buffered: the server's refusal comes with the flush.
    blobs.put_chunk_list(&wrong, list).unwrap();
    assert!(matches!(
        blobs.flush(),
        Err(Error::Remote(m)) if m.contains("hash to")
    ));
    assert!(!(&*f.blobs as &dyn BlobService).has(&wrong).unwrap());
    // A chunk claimed under a digest that is not its own.
    blobs
        .put_chunks(&ChunkBatch::of([(wrong, data.clone().into())]))
        .unwrap();
    assert!(matches!(blobs.flush(), Err(Error::Remote(_))));
    // Malformed requests straight from a raw client.
    let mut raw = BlobServiceClient::new(f.conn.channel());
    let r = f.conn.block_on(raw.stat(wire::StatBlobRequest {
        digest: vec![1, 2, 3],
    }));
    assert_eq!(r.unwrap_err().code(), tonic::Code::InvalidArgument);
    let huge = wire::BlobUpload {
        item: Some(wire::blob_upload::Item::Chunk(
            vec![0; MAX_CHUNK + 1].into(),
        )),
    };
    let r = f.conn.block_on(raw.put(tokio_stream::iter([huge])));
    assert_eq!(r.unwrap_err().code(), tonic::Code::InvalidArgument);
    // Still serving.
    assert_eq!(blobs.get_chunk(&cd).unwrap(), Some(data));
}
