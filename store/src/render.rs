//! Rendering a NAR from castore, streaming: file contents are copied from blob
//! readers (which verify every chunk) straight into the NAR writer.

use std::io::Write;

use nix_compat::nar::writer::{FlatWriter, NarWriteError};
use tvix_castore::proto::node;
use tvix_castore::{B3Digest, BlobService, DirectoryService, Node};

use crate::Error;

/// Writes the NAR of the tree rooted at `root` to `w`. The walk keeps its own
/// stack (one frame per open directory), so any depth renders.
pub fn render_nar<W: Write>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    root: &Node,
    w: &mut W,
) -> Result<(), Error> {
    let _span = tracing::debug_span!("render_nar").entered();
    let mut nar = FlatWriter::new(w).map_err(render_err)?;
    // The entries of each open directory still to be written, last first.
    let mut stack: Vec<Vec<Node>> = Vec::new();
    if let Some(entries) = render_node(blobs, dirs, root, &mut nar)? {
        stack.push(entries);
    }
    while let Some(pending) = stack.last_mut() {
        match pending.pop() {
            Some(child) => {
                nar.entry(child.name()).map_err(render_err)?;
                if let Some(entries) = render_node(blobs, dirs, &child, &mut nar)? {
                    stack.push(entries);
                }
            }
            None => {
                nar.close_directory().map_err(render_err)?;
                stack.pop();
            }
        }
    }
    nar.finish().map_err(render_err)?;
    Ok(())
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

/// Writes a symlink or file whole; opens a directory and returns its entries
/// (reversed, so that popping yields them in order).
fn render_node<W: Write>(
    blobs: &dyn BlobService,
    dirs: &dyn DirectoryService,
    n: &Node,
    nar: &mut FlatWriter<W>,
) -> Result<Option<Vec<Node>>, Error> {
    match &n.node {
        None => Err(Error::Castore(tvix_castore::Error::InvalidDirectory {
            digest: B3Digest([0; 32]),
            source: tvix_castore::DirectoryError::EmptyNode,
        })),
        Some(node::Node::Symlink(s)) => nar.symlink(&s.target).map_err(render_err).map(|()| None),
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
            nar.file(f.executable, f.size, &mut r)
                .map_err(render_err)
                .map(|()| None)
        }
        Some(node::Node::Directory(dn)) => {
            let d = digest(&dn.digest)?;
            let dir = dirs.get_existing(&d)?;
            nar.open_directory().map_err(render_err)?;
            let mut entries = dir.entries();
            entries.reverse();
            Ok(Some(entries))
        }
    }
}
