//! Ingesting a NAR stream into castore, hashing the stream as it is read.

use std::io::{self, Read};

use nix_compat::nar::reader::{self, NarReader};
use tvix_castore::{
    BlobService, Directory, DirectoryNode, DirectoryService, FileNode, Node, SymlinkNode,
};

use crate::ingest_fs::Ingested;
use crate::nar_hash::HashingReader;
use crate::Error;

/// Reads one NAR from `r`, stores its contents, and returns the root node (named
/// `root_name`) with the NAR's size and SHA-256. Bytes after the archive are left
/// unread.
pub fn ingest_nar<R: Read>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    r: R,
    root_name: &[u8],
) -> Result<Ingested, Error> {
    let mut nar = NarReader::new(HashingReader::new(r));
    let root = nar.root()?;
    let node = walk(blobs, dirs, root, root_name.to_vec(), 0)?;
    let hashing = nar.finish()?;
    let (nar_size, nar_sha256) = hashing.finish();
    Ok(Ingested {
        node,
        nar_size,
        nar_sha256,
    })
}

fn copy_err(e: io::Error) -> Error {
    match e.downcast::<tvix_castore::Error>() {
        Ok(c) => Error::Castore(c),
        Err(e) => match e.downcast::<reader::NarReadError>() {
            Ok(n) => Error::NarRead(n),
            Err(e) => Error::Castore(tvix_castore::Error::Io(e)),
        },
    }
}

fn walk<R: Read>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    n: reader::Node<'_, R>,
    name: Vec<u8>,
    depth: usize,
) -> Result<Node, Error> {
    if depth > crate::MAX_DEPTH {
        return Err(Error::TooDeep(crate::MAX_DEPTH));
    }
    match n {
        reader::Node::Symlink { target } => Ok(Node::symlink(SymlinkNode { name, target })),
        reader::Node::File {
            executable,
            size,
            mut reader,
        } => {
            let mut w = blobs.open_write();
            io::copy(&mut reader, &mut w).map_err(copy_err)?;
            let written = w.close()?;
            debug_assert_eq!(
                written.size, size,
                "the NAR reader yields exactly `size` bytes"
            );
            Ok(Node::file(FileNode {
                name,
                digest: written.digest.0.to_vec(),
                size,
                executable,
            }))
        }
        reader::Node::Directory(mut d) => {
            let mut dir = Directory::default();
            while let Some(entry) = d.next_entry()? {
                let child = walk(blobs, dirs, entry.node, entry.name, depth + 1)?;
                dir.insert(child);
            }
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
        }
    }
}
