//! The store as the `tvix store` verbs see it: the three services behind one
//! handle, opened from a URL, with import, export, lookup and verification.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix_compat::store_path::compute::{make_fixed_output_path, FileIngestionMethod};
use nix_compat::{ContentAddress, NixHash, StoreDir, StorePath};
use tvix_castore::proto::node;
use tvix_castore::{
    B3Digest, BlobService, DirectoryService, DiskBackend, MemoryBlobService,
    MemoryDirectoryService, Node,
};

use tvix_castore::grpc::client::{GrpcBlobService, GrpcDirectoryService};
use tvix_castore::grpc::Connection;
use tvix_castore::layered::{LayeredBlobService, LayeredDirectoryService};

use crate::grpc::GrpcPathInfoService;
use crate::layered::LayeredPathInfoService;
use crate::nar_hash::NarHashSink;
use crate::pathinfo_service::{MemoryPathInfoService, PathInfoService, RedbPathInfoService};
use crate::store_url::StoreUrl;
use crate::{ingest_nar, ingest_path_observed, render_nar, Error, Ingested, PathInfo};

/// One problem found by [`Store::verify`].
#[derive(Debug)]
pub struct Problem {
    pub what: String,
    pub error: Error,
}

/// How far a verify run has got: `done` of `total` items of `phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyProgress {
    pub phase: &'static str,
    pub done: usize,
    pub total: usize,
}

/// Counts from a verify run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VerifyCounts {
    pub chunks: usize,
    pub blobs: usize,
    pub directories: usize,
    pub paths: usize,
}

pub struct Store {
    pub blobs: Arc<dyn BlobService>,
    pub dirs: Arc<dyn DirectoryService>,
    pub paths: Arc<dyn PathInfoService>,
    pub store_dir: StoreDir,
}

impl Store {
    pub fn memory() -> Store {
        Store {
            blobs: Arc::new(MemoryBlobService::default()),
            dirs: Arc::new(MemoryDirectoryService::default()),
            paths: Arc::new(MemoryPathInfoService::default()),
            store_dir: StoreDir::default(),
        }
    }

    /// Opens (creating) the on-disk store in `data_dir` (see
    /// [`tvix_castore::disk`]). One process at a time has
    /// it open: another waits for it, up to `TVIX_STORE_BUSY_WAIT` seconds
    /// (default 60), then fails with a "store busy" error without touching it.
    pub fn open_local(data_dir: &Path) -> Result<Store, Error> {
        let wait = std::env::var("TVIX_STORE_BUSY_WAIT")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(tvix_castore::disk::OPEN_WAIT, Duration::from_secs);
        let db = DiskBackend::open_waiting(data_dir, wait)?;
        let paths = RedbPathInfoService::new(db.clone())?;
        let db = Arc::new(db);
        Ok(Store {
            blobs: db.clone(),
            dirs: db,
            paths: Arc::new(paths),
            store_dir: StoreDir::default(),
        })
    }

    pub fn open(url: &StoreUrl) -> Result<Store, Error> {
        match url {
            StoreUrl::Memory => Ok(Store::memory()),
            StoreUrl::Local(dir) => Store::open_local(dir),
            StoreUrl::Grpc(addr) => Store::open_grpc(addr),
            StoreUrl::Layered { cache, remote } => {
                Ok(Store::layered(Store::open(cache)?, Store::open(remote)?))
            }
        }
    }

    /// A client of the store served at `host:port` (see [`crate::grpc::serve`]).
    pub fn open_grpc(addr: &str) -> Result<Store, Error> {
        let conn = Connection::connect(addr)?;
        Ok(Store {
            blobs: Arc::new(GrpcBlobService::new(conn.clone())),
            dirs: Arc::new(GrpcDirectoryService::new(conn.clone())),
            paths: Arc::new(GrpcPathInfoService::new(conn)),
            store_dir: StoreDir::default(),
        })
    }

    /// `remote` read through `cache` (see [`crate::layered`]).
    pub fn layered(cache: Store, remote: Store) -> Store {
        let paths = LayeredPathInfoService::new(&cache, remote.paths.clone());
        Store {
            blobs: Arc::new(LayeredBlobService::new(cache.blobs, remote.blobs)),
            dirs: Arc::new(LayeredDirectoryService::new(cache.dirs, remote.dirs)),
            paths: Arc::new(paths),
            store_dir: remote.store_dir,
        }
    }

    /// Records an ingested tree under its content-addressed ("source") path, as
    /// `nix-store --add` does: references none, NAR hash recursive sha256.
    fn add_source(&self, name: &str, ingested: Ingested) -> Result<PathInfo, Error> {
        let hash = NixHash::sha256(ingested.nar_sha256);
        let store_path = make_fixed_output_path(
            &self.store_dir,
            name,
            FileIngestionMethod::Recursive,
            &hash,
            [],
            false,
        )
        .map_err(|e| Error::InvalidStorePath {
            path: name.to_owned(),
            reason: e.to_string(),
        })?;
        let node = renamed(ingested.node, store_path.to_string().into_bytes());
        let info = PathInfo {
            store_path,
            node,
            references: vec![],
            nar_size: ingested.nar_size,
            nar_sha256: ingested.nar_sha256,
            signatures: vec![],
            deriver: None,
            ca: Some(ContentAddress::Fixed {
                method: FileIngestionMethod::Recursive,
                hash,
            }),
        };
        self.paths.put(&info)?;
        Ok(info)
    }

    /// Imports a filesystem path the way `nix-store --add` does.
    pub fn import_path(&self, path: &Path) -> Result<PathInfo, Error> {
        self.import_path_observed(path, &mut |_, _| {})
    }

    /// [`Self::import_path`], reporting progress as
    /// [`crate::ingest_path_observed`] does.
    pub fn import_path_observed(
        &self,
        path: &Path,
        on_progress: &mut dyn FnMut(u64, u64),
    ) -> Result<PathInfo, Error> {
        let _span = tracing::debug_span!("import_path", path = %path.display()).entered();
        // Named as `nix-store --add` names it: the base name of the argument as
        // written (so `.` gives a path named `.`).
        use std::os::unix::ffi::OsStrExt;
        let name = std::str::from_utf8(base_name_of(path.as_os_str().as_bytes()))
            .map_err(|_| Error::InvalidStorePath {
                path: path.display().to_string(),
                reason: "its base name is not UTF-8".into(),
            })?
            .to_owned();
        nix_compat::store_path::validate_name(name.as_bytes()).map_err(|e| {
            Error::InvalidStorePath {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        // Without a trailing slash, which would make a symlink be followed.
        let path: PathBuf = path.components().collect();
        let ingested = ingest_path_observed(
            &*self.blobs,
            &*self.dirs,
            &path,
            name.as_bytes(),
            on_progress,
        )?;
        self.add_source(&name, ingested)
    }

    /// Imports a NAR stream under a content-addressed path named `name`.
    pub fn import_nar(&self, name: &str, r: impl std::io::Read) -> Result<PathInfo, Error> {
        let ingested = ingest_nar(&*self.blobs, &*self.dirs, r, name.as_bytes())?;
        self.add_source(name, ingested)
    }

    /// Parses an absolute store path, possibly with a path below it.
    pub fn parse_path<'a>(&self, abs: &'a str) -> Result<(StorePath, &'a str), Error> {
        let (p, rest) = self
            .store_dir
            .parse_with_subpath(abs.as_bytes())
            .map_err(|e| Error::InvalidStorePath {
                path: abs.to_owned(),
                reason: e.to_string(),
            })?;
        Ok((p, &abs[abs.len() - rest.len()..]))
    }

    pub fn path_info(&self, p: &StorePath) -> Result<PathInfo, Error> {
        self.paths
            .get(p)?
            .ok_or_else(|| Error::PathNotFound(self.store_dir.display(p)))
    }

    /// The node at an absolute path in the store (a store path or below it).
    pub fn lookup(&self, abs: &str) -> Result<Node, Error> {
        let (p, sub) = self.parse_path(abs)?;
        let info = self.path_info(&p)?;
        let mut n = info.node;
        for comp in sub.split('/').filter(|c| !c.is_empty()) {
            let Some(node::Node::Directory(d)) = &n.node else {
                return Err(Error::NotADirectory(abs.to_owned()));
            };
            let digest = B3Digest::try_from(&d.digest[..]).expect("validated node");
            let dir = self.dirs.get_existing(&digest)?;
            n = dir
                .entries()
                .into_iter()
                .find(|e| e.name() == comp.as_bytes())
                .ok_or_else(|| Error::NoSuchEntry {
                    store_path: self.store_dir.display(&p),
                    path: sub.to_owned(),
                })?;
        }
        Ok(n)
    }

    /// Entries of the directory at `abs`.
    pub fn list_dir(&self, abs: &str) -> Result<Vec<Node>, Error> {
        match self.lookup(abs)?.node {
            Some(node::Node::Directory(d)) => {
                let digest = B3Digest::try_from(&d.digest[..]).expect("validated node");
                Ok(self.dirs.get_existing(&digest)?.entries())
            }
            _ => Err(Error::NotADirectory(abs.to_owned())),
        }
    }

    /// Copies the file at `abs` to `w`, verifying it.
    pub fn cat(&self, abs: &str, w: &mut dyn Write) -> Result<(), Error> {
        match self.lookup(abs)?.node {
            Some(node::Node::File(f)) => {
                let digest = B3Digest::try_from(&f.digest[..]).expect("validated node");
                let mut r =
                    self.blobs
                        .open_read(&digest)?
                        .ok_or(tvix_castore::Error::NotFound {
                            kind: "blob",
                            digest,
                        })?;
                std::io::copy(&mut r, w).map_err(|e| {
                    match e.downcast::<tvix_castore::Error>() {
                        Ok(c) => Error::Castore(c),
                        Err(e) => Error::Io {
                            path: PathBuf::from(abs),
                            source: e,
                        },
                    }
                })?;
                Ok(())
            }
            _ => Err(Error::NotAFile(abs.to_owned())),
        }
    }

    /// Writes the NAR of a store path to `w`.
    pub fn export_nar(&self, p: &StorePath, w: &mut impl Write) -> Result<(), Error> {
        let info = self.path_info(p)?;
        render_nar(&*self.blobs, &*self.dirs, &info.node, w)
    }

    /// Re-hashes everything: every chunk, every blob, every directory, and the NAR
    /// of every store path against its recorded hash and size. Problems are passed
    /// to `report` as they are found.
    pub fn verify(&self, report: &mut dyn FnMut(Problem)) -> Result<VerifyCounts, Error> {
        self.verify_observed(report, &mut |_| {})
    }

    /// [`Self::verify`], telling `progress` how far each phase has got.
    pub fn verify_observed(
        &self,
        report: &mut dyn FnMut(Problem),
        progress: &mut dyn FnMut(VerifyProgress),
    ) -> Result<VerifyCounts, Error> {
        let _span = tracing::debug_span!("verify").entered();
        let mut counts = VerifyCounts::default();
        let blobs = &*self.blobs;
        let chunks = blobs.list_chunks()?;
        check_phase(
            "chunks",
            chunks,
            &mut counts.chunks,
            progress,
            report,
            |d| {
                let error = blobs.verify_chunk(&d).err()?;
                Some(Problem {
                    what: format!("chunk {d}"),
                    error: error.into(),
                })
            },
        );
        let list = blobs.list_blobs()?;
        check_phase("blobs", list, &mut counts.blobs, progress, report, |d| {
            let error = blobs.verify(&d).err()?;
            Some(Problem {
                what: format!("blob {d}"),
                error: error.into(),
            })
        });
        let dirs = &*self.dirs;
        let list = dirs.list()?;
        check_phase(
            "directories",
            list,
            &mut counts.directories,
            progress,
            report,
            |d| {
                let checked = dirs.get_existing(&d).and_then(|dir| {
                    for c in &dir.directories {
                        let cd = B3Digest::try_from(&c.digest[..]).expect("validated");
                        if !dirs.has(&cd)? {
                            return Err(tvix_castore::Error::NotFound {
                                kind: "directory",
                                digest: cd,
                            });
                        }
                    }
                    Ok(())
                });
                let error = checked.err()?;
                Some(Problem {
                    what: format!("directory {d}"),
                    error: error.into(),
                })
            },
        );
        let list = self.paths.list()?;
        check_phase(
            "store paths",
            list,
            &mut counts.paths,
            progress,
            report,
            |info| {
                let info = match info {
                    Ok(i) => i,
                    Err(error) => {
                        return Some(Problem {
                            what: "path info".into(),
                            error,
                        })
                    }
                };
                let what = self.store_dir.display(&info.store_path);
                let mut sink = NarHashSink::new();
                let rendered = render_nar(blobs, dirs, &info.node, &mut sink)
                    .and_then(|()| sink.finish().map_err(Error::io(&what)));
                match rendered {
                    Err(error) => Some(Problem { what, error }),
                    Ok((size, sha)) if size != info.nar_size || sha != info.nar_sha256 => {
                        Some(Problem {
                            what,
                            error: Error::NarHashMismatch {
                                expected: nix_compat::nixbase32::encode(&info.nar_sha256),
                                actual: nix_compat::nixbase32::encode(&sha),
                                expected_size: info.nar_size,
                                actual_size: size,
                            },
                        })
                    }
                    Ok(_) => None,
                }
            },
        );
        tracing::debug!(?counts, "verified");
        Ok(counts)
    }
}

/// One phase of `verify`: checks each item, counting and reporting progress as it goes.
fn check_phase<T>(
    phase: &'static str,
    items: Vec<T>,
    done: &mut usize,
    progress: &mut dyn FnMut(VerifyProgress),
    report: &mut dyn FnMut(Problem),
    mut check: impl FnMut(T) -> Option<Problem>,
) {
    let total = items.len();
    for item in items {
        progress(VerifyProgress {
            phase,
            done: *done,
            total,
        });
        *done += 1;
        if let Some(problem) = check(item) {
            report(problem);
        }
    }
}

/// Nix's `baseNameOf`: the last component, ignoring one trailing slash.
fn base_name_of(p: &[u8]) -> &[u8] {
    let mut end = p.len();
    if end > 1 && p[end - 1] == b'/' {
        end -= 1;
    }
    let s = &p[..end];
    match s.iter().rposition(|&c| c == b'/') {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

/// The same node under another name.
pub fn renamed(n: Node, name: Vec<u8>) -> Node {
    match n.node {
        Some(node::Node::Directory(mut d)) => {
            d.name = name;
            Node::directory(d)
        }
        Some(node::Node::File(mut f)) => {
            f.name = name;
            Node::file(f)
        }
        Some(node::Node::Symlink(mut s)) => {
            s.name = name;
            Node::symlink(s)
        }
        None => n,
    }
}
