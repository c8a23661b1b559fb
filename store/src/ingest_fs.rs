//! Ingesting a filesystem path: one walk that stores every file in castore and, at
//! the same time, feeds the NAR serialisation of the tree into a hashing sink, so
//! the NAR hash and size come out without the NAR ever existing.
//!
//! Four threads share the work: the walk reads files; the NAR sink's thread
//! computes SHA-256; a cutting thread cuts file contents into chunks and
//! computes the BLAKE3 of each file and of each chunk (both in one pass, which
//! costs about as much as the SHA-256); a storing thread writes the new chunks,
//! so the cutting never waits for the backend. Small files the walk cuts and
//! hashes itself, as waiting for the cutting thread's answer would cost more.
//! File contents are read once into shared, reused buffers that all threads see
//! without copying.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use nix_compat::nar::writer::{FlatWriter, NarWriteError};
use tvix_castore::{
    B3Digest, BlobCutter, BlobRecorder, BlobService, Bytes, Directory, DirectoryNode,
    DirectoryService, FileNode, Node, SymlinkNode,
};

use crate::nar_hash::NarHashSink;
use crate::segments::{SegmentPool, SEGMENT};
use crate::Error;

/// A tree stored in castore, with the hash and size of its NAR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub node: Node,
    pub nar_size: u64,
    pub nar_sha256: [u8; 32],
}

/// Stores the tree at `path` (not following a symlink at the root) and returns its
/// root node, named `root_name`.
pub fn ingest_path(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    path: &Path,
    root_name: &[u8],
) -> Result<Ingested, Error> {
    ingest_path_observed(blobs, dirs, path, root_name, &mut |_, _| {})
}

/// [`ingest_path`], reporting progress as it goes: `on_progress(files, bytes)`
/// is called with increments, bytes as file contents are read and a file once it
/// is complete.
pub fn ingest_path_observed(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    path: &Path,
    root_name: &[u8],
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<Ingested, Error> {
    let _span = tracing::debug_span!("ingest_path", path = %path.display()).entered();
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<BlobMsg>(BLOB_QUEUE);
        let (digest_tx, digests) = sync_channel::<B3Digest>(1);
        let (store_tx, store_rx) = sync_channel::<Stored>(STORE_QUEUE);
        let storer = std::thread::Builder::new()
            .name("blob-store".into())
            .spawn_scoped(scope, move || store_blobs(blobs, store_rx))
            .map_err(Error::io(path))?;
        let cutter = std::thread::Builder::new()
            .name("blob-cut".into())
            .spawn_scoped(scope, move || cut_blobs(rx, store_tx, digest_tx))
            .map_err(Error::io(path))?;
        let mut sink = NarHashSink::new();
        let walked = FlatWriter::new(&mut sink)
            .map_err(nar_err(path))
            .and_then(|mut nar| {
                let node = walk(
                    &tx,
                    &digests,
                    dirs,
                    path,
                    root_name.to_vec(),
                    &mut nar,
                    on_progress,
                )?;
                nar.finish().map_err(nar_err(path))?;
                Ok(node)
            });
        drop(tx);
        // A thread's error explains a failed send to it, so the last in line
        // goes first.
        let panicked = |_| Err(castore_io(io::Error::other("blob worker panicked")));
        let cut = cutter.join().unwrap_or_else(panicked);
        storer.join().unwrap_or_else(panicked)?;
        cut?;
        let node = walked?;
        dirs.flush()?;
        let (nar_size, nar_sha256) = sink.finish().map_err(Error::io(path))?;
        tracing::debug!(nar_size, "ingested path");
        Ok(Ingested {
            node,
            nar_size,
            nar_sha256,
        })
    })
}

/// Buffers on their way to the cutting thread: enough to keep it busy, few
/// enough that the buffers stay reused (each one in flight is one more to
/// allocate).
const BLOB_QUEUE: usize = 4;

/// Chunks on their way to the storing thread: about one backend batch, so the
/// cutting goes on while a batch is written.
const STORE_QUEUE: usize = 16;

/// A blob's chunks on their way to the storing thread: `Chunk`s, then `End`
/// with the blob's digest.
enum Stored {
    Chunk(B3Digest, Vec<Bytes>),
    End(B3Digest),
}

/// What the walk tells the cutting thread: a file it cut itself (passed on as
/// it is), or the contents of one to cut (`Data`, then `Close`, which is
/// answered with the file's digest).
enum BlobMsg {
    Cut(Stored),
    Data(Bytes),
    Close,
}

/// The cutting thread: cuts and hashes what it is sent whole.
fn cut_blobs(
    rx: Receiver<BlobMsg>,
    out: SyncSender<Stored>,
    digests: SyncSender<B3Digest>,
) -> Result<(), Error> {
    let send = |m| out.send(m).map_err(|_| castore_io(worker_gone()));
    let mut chunk =
        |d, pieces: std::vec::Drain<'_, Bytes>| send(Stored::Chunk(d, pieces.collect()));
    let mut cutter = BlobCutter::default();
    for msg in rx {
        match msg {
            BlobMsg::Cut(stored) => send(stored)?,
            BlobMsg::Data(data) => cutter.write(data, &mut chunk)?,
            BlobMsg::Close => {
                let (digest, _) = std::mem::take(&mut cutter).finish(&mut chunk)?;
                send(Stored::End(digest))?;
                // The walk waits for this answer unless it has failed.
                let _ = digests.send(digest);
            }
        }
    }
    Ok(())
}

/// The storing thread: stores each blob's chunks, then its chunk list.
fn store_blobs(blobs: &dyn BlobService, rx: Receiver<Stored>) -> Result<(), Error> {
    let mut recorder = None;
    for msg in rx {
        match msg {
            Stored::Chunk(d, pieces) => recorder
                .get_or_insert_with(|| BlobRecorder::new(blobs))
                .add_chunk(d, pieces)?,
            Stored::End(digest) => recorder
                .take()
                .unwrap_or_else(|| BlobRecorder::new(blobs))
                .finish(digest)?,
        }
    }
    blobs.flush()?;
    Ok(())
}

fn worker_gone() -> io::Error {
    io::Error::other("blob worker stopped")
}

fn castore_io(e: io::Error) -> Error {
    Error::Castore(tvix_castore::Error::Io(e))
}

fn nar_err(path: &Path) -> impl FnOnce(NarWriteError) -> Error + '_ {
    move |source| match source {
        // An I/O error here comes from reading the file (or from castore, wrapped).
        NarWriteError::Io(e) => match e.downcast::<tvix_castore::Error>() {
            Ok(c) => Error::Castore(c),
            Err(e) => Error::Io {
                path: path.to_path_buf(),
                source: e,
            },
        },
        source => Error::NarWrite {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// A directory being walked: its entries still to visit and what it holds so far.
struct Frame {
    path: PathBuf,
    name: Vec<u8>,
    pending: std::vec::IntoIter<Vec<u8>>,
    dir: Directory,
}

/// Walks the tree at `path` with an explicit stack (one frame per open directory),
/// so any depth the file system allows is fine.
fn walk(
    tx: &SyncSender<BlobMsg>,
    digests: &Receiver<B3Digest>,
    dirs: &dyn DirectoryService,
    path: &Path,
    root_name: Vec<u8>,
    nar: &mut NarWriter,
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<Node, Error> {
    let mut pool = SegmentPool::default();
    let mut v = Visitor {
        tx,
        digests,
        pool: &mut pool,
        on_progress,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut done = match v.visit(path, root_name, nar)? {
        Visited::Leaf(node) => return Ok(node),
        Visited::Dir(frame) => {
            stack.push(frame);
            None
        }
    };
    loop {
        let top = stack
            .last_mut()
            .expect("the loop returns when the stack empties");
        if let Some(node) = done.take() {
            top.dir.insert(node);
        }
        match top.pending.next() {
            Some(child_name) => {
                let child_path = top.path.join(OsStr::from_bytes(&child_name));
                nar.entry(&child_name).map_err(nar_err(&child_path))?;
                match v.visit(&child_path, child_name, nar)? {
                    Visited::Leaf(node) => done = Some(node),
                    Visited::Dir(frame) => stack.push(frame),
                }
            }
            None => {
                let Frame {
                    path, name, dir, ..
                } = stack.pop().expect("top exists");
                nar.close_directory().map_err(nar_err(&path))?;
                let size = dir
                    .size()
                    .map_err(|source| tvix_castore::Error::InvalidDirectory {
                        digest: dir.digest(),
                        source,
                    })?;
                let digest = dirs.put(&dir)?;
                let node = Node::directory(DirectoryNode {
                    name,
                    digest: digest.0.to_vec(),
                    size,
                });
                if stack.is_empty() {
                    return Ok(node);
                }
                done = Some(node);
            }
        }
    }
}

enum Visited {
    Leaf(Node),
    Dir(Frame),
}

type NarWriter<'a> = FlatWriter<&'a mut NarHashSink>;

/// What visiting a node needs besides the node.
struct Visitor<'a> {
    tx: &'a SyncSender<BlobMsg>,
    /// The blob worker's answers to `Close`.
    digests: &'a Receiver<B3Digest>,
    pool: &'a mut SegmentPool,
    on_progress: &'a mut dyn FnMut(u64, u64),
}

impl Visitor<'_> {
    /// Writes a symlink or file whole; opens a directory and lists its entries.
    fn visit(&mut self, path: &Path, name: Vec<u8>, nar: &mut NarWriter) -> Result<Visited, Error> {
        let meta = fs::symlink_metadata(path).map_err(Error::io(path))?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = fs::read_link(path).map_err(Error::io(path))?;
            let target = target.as_os_str().as_bytes().to_vec();
            nar.symlink(&target).map_err(nar_err(path))?;
            Ok(Visited::Leaf(Node::symlink(SymlinkNode { name, target })))
        } else if ft.is_file() {
            // Nix records only the owner's execute bit.
            let executable = meta.permissions().mode() & 0o100 != 0;
            let size = meta.len();
            let mut file = File::open(path).map_err(Error::io(path))?;
            let digest = if size > SEGMENT as u64 {
                nar.file_with(executable, size, &mut |sink| {
                    self.copy_contents(&mut file, size, None, sink)
                })
                .map_err(nar_err(path))?;
                self.send(BlobMsg::Close)
                    .and_then(|()| self.digests.recv().map_err(|_| worker_gone()))
                    .map_err(Error::io(path))?
            } else {
                let mut cutter = BlobCutter::default();
                nar.file_with(executable, size, &mut |sink| {
                    self.copy_contents(&mut file, size, Some(&mut cutter), sink)
                })
                .map_err(nar_err(path))?;
                let (digest, _) = cutter
                    .finish(&mut |d, pieces| self.send_chunk(d, pieces))
                    .map_err(Error::io(path))?;
                self.send(BlobMsg::Cut(Stored::End(digest)))
                    .map_err(Error::io(path))?;
                digest
            };
            (self.on_progress)(1, 0);
            Ok(Visited::Leaf(Node::file(FileNode {
                name,
                digest: digest.0.to_vec(),
                size,
                executable,
            })))
        } else {
            visit_dir(path, name, ft, nar)
        }
    }

    fn send(&self, msg: BlobMsg) -> io::Result<()> {
        self.tx.send(msg).map_err(|_| worker_gone())
    }

    fn send_chunk(&self, digest: B3Digest, pieces: std::vec::Drain<'_, Bytes>) -> io::Result<()> {
        self.send(BlobMsg::Cut(Stored::Chunk(digest, pieces.collect())))
    }

    /// Reads `size` bytes of `file` (fewer if it ends early) once, into shared
    /// buffers that go to the NAR hash and to the blob worker: cut into chunks
    /// by `cutter` or, without one, whole for the worker to cut.
    fn copy_contents(
        &mut self,
        file: &mut File,
        size: u64,
        mut cutter: Option<&mut BlobCutter>,
        sink: &mut NarHashSink,
    ) -> io::Result<u64> {
        let mut read = 0;
        while read < size {
            let want = (size - read).min(SEGMENT as u64) as usize;
            let seg = self.pool.read(file, want)?;
            if seg.is_empty() {
                break;
            }
            read += seg.len() as u64;
            (self.on_progress)(0, seg.len() as u64);
            // The NAR hash first, so its thread starts while this one cuts.
            sink.write_shared(seg.clone())?;
            match cutter.as_deref_mut() {
                Some(c) => c.write(seg, &mut |d, pieces| self.send_chunk(d, pieces))?,
                None => self.send(BlobMsg::Data(seg))?,
            }
        }
        Ok(read)
    }
}

/// Opens a directory and lists its entries; anything else is unsupported.
fn visit_dir(
    path: &Path,
    name: Vec<u8>,
    ft: fs::FileType,
    nar: &mut NarWriter,
) -> Result<Visited, Error> {
    if ft.is_dir() {
        let mut names = Vec::new();
        for entry in fs::read_dir(path).map_err(Error::io(path))? {
            let entry = entry.map_err(Error::io(path))?;
            names.push(entry.file_name().as_bytes().to_vec());
        }
        // NAR and castore both order entries by the bytes of their names.
        names.sort();
        nar.open_directory().map_err(nar_err(path))?;
        Ok(Visited::Dir(Frame {
            path: path.to_path_buf(),
            name,
            pending: names.into_iter(),
            dir: Directory::default(),
        }))
    } else {
        Err(Error::UnsupportedFileType {
            path: path.to_path_buf(),
        })
    }
}
