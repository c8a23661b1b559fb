//! Ingesting a filesystem path: one walk that stores every file in castore and, at
//! the same time, feeds the NAR serialisation of the tree into a hashing sink, so
//! the NAR hash and size come out without the NAR ever existing.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nix_compat::nar::writer::{self, NarWriteError};
use tvix_castore::{
    BlobService, BlobWriter, Directory, DirectoryNode, DirectoryService, FileNode, Node,
    SymlinkNode,
};

use crate::nar_hash::NarHashSink;
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
    // A buffered sink lets the NAR writer's copy read file contents straight
    // into the buffer (std's io::copy does so for a BufWriter), saving a copy.
    let mut sink = BufWriter::with_capacity(1 << 20, NarHashSink::new());
    let root = writer::open(&mut sink).map_err(nar_err(path))?;
    let node = walk(blobs, dirs, path, root_name.to_vec(), root)?;
    let sink = sink
        .into_inner()
        .map_err(|e| Error::io(path)(e.into_error()))?;
    let (nar_size, nar_sha256) = sink.finish().map_err(Error::io(path))?;
    Ok(Ingested {
        node,
        nar_size,
        nar_sha256,
    })
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

/// Reads a file, and hands every byte read to a blob as well.
struct Tee<'w, 's> {
    file: File,
    blob: &'w mut BlobWriter<'s>,
}

impl Read for Tee<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.blob
            .write_all_bytes(&buf[..n])
            .map_err(io::Error::other)?;
        Ok(n)
    }
}

fn walk<W: io::Write>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    path: &Path,
    name: Vec<u8>,
    nar: writer::Node<'_, W>,
) -> Result<Node, Error> {
    let meta = fs::symlink_metadata(path).map_err(Error::io(path))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(path).map_err(Error::io(path))?;
        let target = target.as_os_str().as_bytes().to_vec();
        nar.symlink(&target).map_err(nar_err(path))?;
        Ok(Node::symlink(SymlinkNode { name, target }))
    } else if ft.is_file() {
        // Nix records only the owner's execute bit.
        let executable = meta.permissions().mode() & 0o100 != 0;
        let size = meta.len();
        let file = File::open(path).map_err(Error::io(path))?;
        let mut blob = blobs.open_write();
        let mut tee = Tee {
            file,
            blob: &mut blob,
        };
        nar.file(executable, size, &mut tee)
            .map_err(nar_err(path))?;
        let written = blob.close()?;
        if written.size != size {
            // The file grew while we read it: the blob has more than the NAR.
            return Err(Error::SizeMismatch {
                what: "file",
                name: path.display().to_string(),
                claimed: size,
                actual: written.size,
            });
        }
        Ok(Node::file(FileNode {
            name,
            digest: written.digest.0.to_vec(),
            size,
            executable,
        }))
    } else if ft.is_dir() {
        let mut names = Vec::new();
        for entry in fs::read_dir(path).map_err(Error::io(path))? {
            let entry = entry.map_err(Error::io(path))?;
            names.push(entry.file_name().as_bytes().to_vec());
        }
        // NAR and castore both order entries by the bytes of their names.
        names.sort();
        let mut nar_dir = nar.directory().map_err(nar_err(path))?;
        let mut dir = Directory::default();
        for child_name in names {
            let child_path = path.join(std::ffi::OsStr::from_bytes(&child_name));
            let entry = nar_dir.entry(&child_name).map_err(nar_err(&child_path))?;
            dir.insert(walk(blobs, dirs, &child_path, child_name, entry)?);
        }
        nar_dir.close().map_err(nar_err(path))?;
        let size = dir
            .size()
            .map_err(|source| tvix_castore::Error::InvalidDirectory {
                digest: dir.digest(),
                source,
            })?;
        let digest = dirs.put(&dir)?;
        Ok(Node::directory(DirectoryNode {
            name,
            digest: digest.0.to_vec(),
            size,
        }))
    } else {
        Err(Error::UnsupportedFileType {
            path: path.to_path_buf(),
        })
    }
}
