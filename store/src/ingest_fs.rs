//! Ingesting a filesystem path: one walk that stores every file in castore and, at
//! the same time, feeds the NAR serialisation of the tree into a hashing sink, so
//! the NAR hash and size come out without the NAR ever existing.
//!
//! Three threads share the work: the walk reads files, cuts them into chunks
//! and computes the BLAKE3 of each chunk and of each file; the NAR sink's
//! thread computes SHA-256 and takes over the file's BLAKE3 of the parts it
//! reaches before the walk does (see [`SharedPiece`]), so the two balance
//! themselves on two cores; a storing thread writes the new chunks, so the
//! walk never waits for the backend. File contents are read once into shared,
//! reused buffers that all threads see without copying.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use nix_compat::nar::writer::{FlatWriter, NarWriteError};
use tvix_castore::{
    B3Digest, BlobCutter, BlobRecorder, BlobService, Bytes, Directory, DirectoryNode,
    DirectoryService, FileNode, Node, SharedPiece, SymlinkNode,
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
        let (tx, store_rx) = sync_channel::<Stored>(STORE_QUEUE);
        let storer = std::thread::Builder::new()
            .name("blob-store".into())
            .spawn_scoped(scope, move || store_blobs(blobs, store_rx))
            .map_err(Error::io(path))?;
        let mut sink = NarHashSink::new();
        let walked = FlatWriter::new(&mut sink)
            .map_err(nar_err(path))
            .and_then(|mut nar| {
                let node = walk(&tx, dirs, path, root_name.to_vec(), &mut nar, on_progress)?;
                nar.finish().map_err(nar_err(path))?;
                Ok(node)
            });
        drop(tx);
        // The storing thread's error explains a failed send to it.
        let panicked = |_| Err(castore_io(io::Error::other("blob worker panicked")));
        storer.join().unwrap_or_else(panicked)?;
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

/// Chunks on their way to the storing thread: about one backend batch, so the
/// walk goes on while a batch is written.
const STORE_QUEUE: usize = 16;

/// Files larger than this share their BLAKE3 with the NAR hash's thread; for
/// smaller ones that costs more than it saves.
const SHARE_MIN: u64 = 64 * 1024;

/// A blob's chunks on their way to the storing thread: `Chunk`s, then `End`
/// with the blob's digest.
enum Stored {
    Chunk(B3Digest, Vec<Bytes>),
    End(B3Digest),
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

/// Hands a new chunk to the storing thread.
fn send_chunk(
    tx: &SyncSender<Stored>,
    digest: B3Digest,
    pieces: std::vec::Drain<'_, Bytes>,
) -> io::Result<()> {
    tx.send(Stored::Chunk(digest, pieces.collect()))
        .map_err(|_| worker_gone())
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
    tx: &SyncSender<Stored>,
    dirs: &dyn DirectoryService,
    path: &Path,
    root_name: Vec<u8>,
    nar: &mut NarWriter,
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<Node, Error> {
    let mut pool = SegmentPool::default();
    let mut v = Visitor {
        tx,
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
    tx: &'a SyncSender<Stored>,
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
            let mut cutter = BlobCutter::default();
            nar.file_with(executable, size, &mut |sink| {
                self.copy_contents(&mut file, size, &mut cutter, sink)
            })
            .map_err(nar_err(path))?;
            let (digest, _) = cutter
                .finish(&mut |d, pieces| send_chunk(self.tx, d, pieces))
                .map_err(Error::io(path))?;
            self.send(Stored::End(digest)).map_err(Error::io(path))?;
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

    fn send(&self, msg: Stored) -> io::Result<()> {
        self.tx.send(msg).map_err(|_| worker_gone())
    }

    /// Reads `size` bytes of `file` (fewer if it ends early) once, into shared
    /// buffers that go to the NAR hash and to `cutter`.
    fn copy_contents(
        &mut self,
        file: &mut File,
        size: u64,
        cutter: &mut BlobCutter,
        sink: &mut NarHashSink,
    ) -> io::Result<u64> {
        let tx = self.tx;
        let mut on_chunk = |d, pieces: std::vec::Drain<'_, Bytes>| send_chunk(tx, d, pieces);
        let mut read = 0;
        // The piece read but not cut yet: the hashing thread gets each piece
        // before the cutting starts on the one before, so it can run ahead and
        // take over BLAKE3 units whenever the cutting is the slower.
        let mut ahead: Option<Arc<SharedPiece>> = None;
        while read < size {
            let want = (size - read).min(SEGMENT as u64) as usize;
            let seg = self.pool.read(file, want)?;
            if seg.is_empty() {
                break;
            }
            let offset = read;
            read += seg.len() as u64;
            (self.on_progress)(0, seg.len() as u64);
            if size > SHARE_MIN {
                let piece = Arc::new(SharedPiece::new(seg, offset));
                sink.write_helped(piece.clone())?;
                if let Some(prev) = ahead.replace(piece) {
                    cutter.write_shared(prev, &mut on_chunk)?;
                }
            } else {
                sink.write_shared(seg.clone())?;
                cutter.write(seg, &mut on_chunk)?;
            }
        }
        if let Some(prev) = ahead {
            cutter.write_shared(prev, &mut on_chunk)?;
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
