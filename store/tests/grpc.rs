//! A store served over gRPC in this process on loopback, and a client store of it:
//! ingest and read back, corruption on the server caught by the client, writes the
//! server must refuse, and bad requests that leave it serving.

mod common;

use std::sync::Arc;

use nix_compat::StoreDir;
use tvix_castore::grpc::Connection;
use tvix_castore::{B3Digest, BlobService, MemoryBlobService, MemoryDirectoryService};
use tvix_store::grpc::generated::path_info_service_client::PathInfoServiceClient;
use tvix_store::grpc::wire::GetPathInfoRequest;
use tvix_store::{Error, MemoryPathInfoService, PathInfo, Store};

struct Served {
    blobs: Arc<MemoryBlobService>,
    store: Store,
    _server: tvix_castore::grpc::serve::ServerHandle,
    client: Store,
    addr: String,
}

fn served() -> Served {
    let blobs = Arc::new(MemoryBlobService::default());
    let store = Store {
        blobs: blobs.clone(),
        dirs: Arc::new(MemoryDirectoryService::default()),
        paths: Arc::new(MemoryPathInfoService::default()),
        store_dir: StoreDir::default(),
    };
    let server = tvix_store::grpc::serve(&store, "127.0.0.1:0").unwrap();
    let addr = server.local_addr().to_string();
    let client = Store::open_grpc(&addr).unwrap();
    Served {
        blobs,
        store,
        _server: server,
        client,
        addr,
    }
}

fn nar(store: &Store, info: &PathInfo) -> Vec<u8> {
    let mut out = Vec::new();
    store.export_nar(&info.store_path, &mut out).unwrap();
    out
}

#[test]
fn ingest_through_the_client_and_read_back() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    common::awkward_tree(&tree);
    let info = s.client.import_path(&tree).unwrap();
    // Stored on the server, and the same seen from either side.
    assert_eq!(s.store.path_info(&info.store_path).unwrap(), info);
    assert_eq!(nar(&s.client, &info), nar(&s.store, &info));
    let local = Store::memory().import_path(&tree).unwrap();
    assert_eq!(local, info);
    let listed: Vec<PathInfo> = s
        .client
        .paths
        .list()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(listed, vec![info.clone()]);
    // Re-import writes no new chunks.
    let chunks = s.blobs.chunk_count();
    assert_eq!(s.client.import_path(&tree).unwrap(), info);
    assert_eq!(s.blobs.chunk_count(), chunks);
    let mut problems = 0;
    let counts = s.client.verify(&mut |_| problems += 1).unwrap();
    assert_eq!((problems, counts.paths), (0, 1));
}

#[test]
fn corruption_on_the_server_is_caught_by_the_client() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, common::random_bytes(100_000, 3)).unwrap();
    let info = s.client.import_path(&file).unwrap();
    let chunk = s.blobs.list_chunks().unwrap()[0];
    s.blobs.corrupt_chunk_for_test(&chunk, b"rotten".to_vec());
    let abs = s.client.store_dir.display(&info.store_path);
    let err = s.client.cat(&abs, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(err, Error::Castore(tvix_castore::Error::Corrupt { .. })),
        "{err}"
    );
    let mut problems = Vec::new();
    s.client.verify(&mut |p| problems.push(p.what)).unwrap();
    assert!(problems.iter().any(|p| p.contains("chunk")), "{problems:?}");

    // A path info stored under another path's key.
    let other: PathInfo = {
        let f2 = tmp.path().join("other");
        std::fs::write(&f2, b"other").unwrap();
        s.client.import_path(&f2).unwrap()
    };
    s.store
        .paths
        .put_raw(info.store_path.digest(), other.encode())
        .unwrap();
    let err = s.client.path_info(&info.store_path).unwrap_err();
    assert!(matches!(err, Error::CorruptPathInfo { .. }), "{err}");
}

#[test]
fn server_refuses_a_path_whose_contents_are_missing_and_keeps_serving() {
    let s = served();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"contents").unwrap();
    // Made on a separate store, so the server has none of the contents.
    let info = Store::memory().import_path(&file).unwrap();
    let err = s.client.paths.put(&info).unwrap_err();
    assert!(err.to_string().contains("not stored"), "{err}");
    assert!(s.store.paths.get(&info.store_path).unwrap().is_none());
    // A malformed request from a raw client.
    let conn = Connection::connect(&s.addr).unwrap();
    let mut raw = PathInfoServiceClient::new(conn.channel());
    let r = conn.block_on(raw.get(GetPathInfoRequest { digest: vec![0; 3] }));
    assert_eq!(r.unwrap_err().code(), tonic::Code::InvalidArgument);
    // Still serving: the same import through the client now works.
    assert_eq!(s.client.import_path(&file).unwrap(), info);
    assert!((&*s.store.blobs as &dyn BlobService)
        .has(&B3Digest::of(b"contents"))
        .unwrap());
}
