//! Ingesting a NAR stream into castore, hashing the stream as it is read.

use std::io::{self, Read};

use nix_compat::nar::reader::{self, Event, NarReader};
use tvix_castore::{
    BlobService, Directory, DirectoryNode, DirectoryService, FileNode, Node, SymlinkNode,
};

use crate::ingest_fs::Ingested;
use crate::nar_hash::HashingReader;
use crate::{Error, MAX_NAR_DEPTH};

/// Reads one NAR from `r`, stores its contents, and returns the root node (named
/// `root_name`) with the NAR's size and SHA-256. Bytes after the archive are left
/// unread. The walk keeps its own stack, so depth costs heap, not Rust stack; as
/// the stream is untrusted, nesting beyond [`MAX_NAR_DEPTH`] is refused.
pub fn ingest_nar<R: Read>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    r: R,
    root_name: &[u8],
) -> Result<Ingested, Error> {
    let _span = tracing::debug_span!("ingest_nar").entered();
    let mut nar = NarReader::new(HashingReader::new(r));
    // The directories being filled, innermost last, each with its own name.
    let mut open: Vec<(Vec<u8>, Directory)> = Vec::new();
    let mut root = None;
    while let Some(event) = nar.next_event()? {
        let done = match event {
            Event::Node { name, node } => {
                let name = name.unwrap_or_else(|| root_name.to_vec());
                match node {
                    reader::Node::Symlink { target } => Node::symlink(SymlinkNode { name, target }),
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
                        Node::file(FileNode {
                            name,
                            digest: written.digest.0.to_vec(),
                            size,
                            executable,
                        })
                    }
                    reader::Node::Directory(_) => {
                        if open.len() > MAX_NAR_DEPTH {
                            return Err(Error::TooDeep(MAX_NAR_DEPTH));
                        }
                        open.push((name, Directory::default()));
                        continue;
                    }
                }
            }
            Event::DirEnd => {
                let (name, dir) = open
                    .pop()
                    .expect("the reader pairs DirEnd with a directory");
                let size = dir
                    .size()
                    .map_err(|source| tvix_castore::Error::InvalidDirectory {
                        digest: dir.digest(),
                        source,
                    })?;
                let digest = dirs.put(&dir)?;
                Node::directory(DirectoryNode {
                    name,
                    digest: digest.0.to_vec(),
                    size,
                })
            }
        };
        match open.last_mut() {
            Some((_, parent)) => parent.insert(done),
            None => root = Some(done),
        }
    }
    let node = root.expect("a complete archive has a root");
    blobs.flush()?;
    dirs.flush()?;
    let hashing = nar.finish()?;
    let (nar_size, nar_sha256) = hashing.finish();
    tracing::debug!(nar_size, "ingested NAR");
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
