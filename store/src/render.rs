//! Rendering a NAR from castore, streaming: file contents are copied from blob
//! readers (which verify every chunk) straight into the NAR writer.

use std::io::Write;

use nix_compat::nar::writer::{self, NarWriteError};
use tvix_castore::proto::node;
use tvix_castore::{B3Digest, BlobService, DirectoryService, Node};

use crate::Error;

/// Writes the NAR of the tree rooted at `root` to `w`.
pub fn render_nar<W: Write>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    root: &Node,
    w: &mut W,
) -> Result<(), Error> {
    let nar = writer::open(w).map_err(render_err)?;
    render_node(blobs, dirs, root, nar, 0)
}

fn render_err(e: NarWriteError) -> Error {
    match e {
        // Blob readers report castore errors (corruption) through io::Error.
        NarWriteError::Io(io) => match io.downcast::<tvix_castore::Error>() {
            Ok(c) => Error::Castore(c),
            Err(io) => Error::Render(NarWriteError::Io(io)),
        },
        e => Error::Render(e),
    }
}

fn digest(bytes: &[u8]) -> Result<B3Digest, Error> {
    B3Digest::try_from(bytes).map_err(|e| {
        Error::Castore(tvix_castore::Error::InvalidDirectory {
            digest: B3Digest([0; 32]),
            source: tvix_castore::DirectoryError::Decode(e.to_string()),
        })
    })
}

fn render_node<W: Write>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    n: &Node,
    nar: writer::Node<'_, W>,
    depth: usize,
) -> Result<(), Error> {
    if depth > crate::MAX_DEPTH {
        return Err(Error::TooDeep(crate::MAX_DEPTH));
    }
    match &n.node {
        None => Err(Error::Castore(tvix_castore::Error::InvalidDirectory {
            digest: B3Digest([0; 32]),
            source: tvix_castore::DirectoryError::EmptyNode,
        })),
        Some(node::Node::Symlink(s)) => nar.symlink(&s.target).map_err(render_err),
        Some(node::Node::File(f)) => {
            let d = digest(&f.digest)?;
            let mut r = blobs.open_read(&d)?.ok_or(tvix_castore::Error::NotFound {
                kind: "blob",
                digest: d,
            })?;
            if r.size() != f.size {
                return Err(Error::SizeMismatch {
                    what: "blob",
                    name: String::from_utf8_lossy(&f.name).into_owned(),
                    claimed: f.size,
                    actual: r.size(),
                });
            }
            nar.file(f.executable, f.size, &mut r).map_err(render_err)
        }
        Some(node::Node::Directory(dn)) => {
            let d = digest(&dn.digest)?;
            let dir = dirs.get_existing(&d)?;
            let mut nar_dir = nar.directory().map_err(render_err)?;
            for entry in dir.entries() {
                let child = nar_dir.entry(entry.name()).map_err(render_err)?;
                render_node(blobs, dirs, &entry, child, depth + 1)?;
            }
            nar_dir.close().map_err(render_err)
        }
    }
}
