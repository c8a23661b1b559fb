//! A whole archive held in memory: convenient for tests and small trees, and the
//! reference against which the streaming reader and writer are checked.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use super::reader::{self, NarReadError, NarReader};
use super::writer::{self, NarWriteError};

/// How deep [`NarTree::read_from`] lets directories nest: it recurses, and an
/// in-memory tree is meant for small trees. Use the streaming reader for
/// arbitrary archives.
pub const MAX_DEPTH: usize = 256;

/// A file system tree as a NAR describes it. Directory entries are keyed by name;
/// `BTreeMap` orders them bytewise, which is NAR order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NarTree {
    File { executable: bool, contents: Vec<u8> },
    Symlink { target: Vec<u8> },
    Directory(BTreeMap<Vec<u8>, NarTree>),
}

impl NarTree {
    /// Serialise as a NAR.
    pub fn write_to<W: Write>(&self, w: &mut W) -> Result<(), NarWriteError> {
        self.write_node(writer::open(w)?)
    }

    /// Serialise into a new buffer.
    pub fn to_nar(&self) -> Result<Vec<u8>, NarWriteError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    fn write_node<W: Write>(&self, node: writer::Node<'_, W>) -> Result<(), NarWriteError> {
        match self {
            NarTree::File {
                executable,
                contents,
            } => node.file_bytes(*executable, contents),
            NarTree::Symlink { target } => node.symlink(target),
            NarTree::Directory(entries) => {
                let mut d = node.directory()?;
                for (name, child) in entries {
                    child.write_node(d.entry(name)?)?;
                }
                d.close()
            }
        }
    }

    /// Read one whole archive from `r` (trailing bytes are left unread).
    /// Directories may nest at most [`MAX_DEPTH`] deep; the streaming reader
    /// itself has no such limit.
    pub fn read_from<R: Read>(r: R) -> Result<NarTree, NarReadError> {
        let mut nr = NarReader::new(r);
        let tree = Self::read_node(nr.root()?, 0)?;
        nr.finish()?;
        Ok(tree)
    }

    fn read_node<R: Read>(
        node: reader::Node<'_, R>,
        depth: usize,
    ) -> Result<NarTree, NarReadError> {
        Ok(match node {
            reader::Node::File {
                executable,
                size,
                mut reader,
            } => {
                let mut contents = Vec::with_capacity(size.min(1 << 20) as usize);
                reader.read_to_end(&mut contents).map_err(into_read_error)?;
                NarTree::File {
                    executable,
                    contents,
                }
            }
            reader::Node::Symlink { target } => NarTree::Symlink { target },
            reader::Node::Directory(mut d) => {
                let mut entries = BTreeMap::new();
                if depth >= MAX_DEPTH {
                    return Err(NarReadError {
                        offset: d.offset(),
                        kind: reader::NarReadErrorKind::TooDeep(MAX_DEPTH),
                    });
                }
                while let Some(e) = d.next_entry()? {
                    let child = Self::read_node(e.node, depth + 1)?;
                    entries.insert(e.name, child);
                }
                NarTree::Directory(entries)
            }
        })
    }
}

/// File reads report archive errors as `io::Error`; recover the typed error.
fn into_read_error(e: std::io::Error) -> NarReadError {
    if e.get_ref().is_some_and(|inner| inner.is::<NarReadError>()) {
        match e.into_inner().map(|b| b.downcast::<NarReadError>()) {
            Some(Ok(inner)) => return *inner,
            _ => unreachable!("checked above"),
        }
    }
    NarReadError {
        offset: 0,
        kind: reader::NarReadErrorKind::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nesting_is_limited() {
        let mut t = NarTree::Directory(Default::default());
        for _ in 0..MAX_DEPTH {
            t = NarTree::Directory([(b"d".to_vec(), t)].into());
        }
        let nar = t.to_nar().unwrap();
        let e = NarTree::read_from(nar.as_slice()).unwrap_err();
        assert!(matches!(e.kind, reader::NarReadErrorKind::TooDeep(_)));
        // Dropping it recursively is fine at this depth; reading one level
        // less deep works.
        let NarTree::Directory(mut top) = t else {
            unreachable!()
        };
        let inner = top.remove(&b"d"[..]).unwrap();
        assert_eq!(
            NarTree::read_from(inner.to_nar().unwrap().as_slice()).unwrap(),
            inner
        );
    }

    fn arb_name() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 1..12)
            .prop_filter("valid entry name", |n| super::super::is_valid_entry_name(n))
    }

    fn arb_tree() -> impl Strategy<Value = NarTree> {
        let leaf = prop_oneof![
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..40)).prop_map(
                |(executable, contents)| NarTree::File {
                    executable,
                    contents
                }
            ),
            proptest::collection::vec(1u8..=255, 1..20)
                .prop_map(|target| NarTree::Symlink { target }),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            proptest::collection::btree_map(arb_name(), inner, 0..6).prop_map(NarTree::Directory)
        })
    }

    proptest! {
        #[test]
        fn write_then_read_round_trips(tree in arb_tree()) {
            let nar = tree.to_nar().unwrap();
            prop_assert_eq!(nar.len() % 8, 0);
            let back = NarTree::read_from(nar.as_slice()).unwrap();
            prop_assert_eq!(&back, &tree);
            prop_assert_eq!(back.to_nar().unwrap(), nar);
        }

        #[test]
        fn corrupted_archives_never_panic(tree in arb_tree(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut nar = tree.to_nar().unwrap();
            let i = at.index(nar.len());
            nar[i] = byte;
            // Either an error, or (if the byte change was harmless) a valid tree
            // whose serialisation is exactly the bytes we read.
            if let Ok(t) = NarTree::read_from(nar.as_slice()) {
                prop_assert_eq!(t.to_nar().unwrap(), nar);
            }
        }
    }
}
