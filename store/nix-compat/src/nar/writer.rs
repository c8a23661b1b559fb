//! Streaming NAR writer.
//!
//! [`open`] writes the header and hands out the root [`Node`]; a node is consumed
//! by exactly one of [`Node::file`], [`Node::symlink`] or [`Node::directory`].
//! A [`Directory`] hands out one node per entry and insists that entries come in
//! strictly increasing name order and that each is completed before the next.
//! Nothing is buffered: file contents are copied straight from a reader, and each
//! tag is a few small writes, so give it a `BufWriter` (or an in-memory sink such
//! as [`super::NarHasher`]) rather than a raw file or socket.

use std::io::{self, Read, Write};

use thiserror::Error;

use super::{is_valid_entry_name, padding_len, MAGIC};

/// Why writing an archive failed.
#[derive(Debug, Error)]
pub enum NarWriteError {
    #[error("I/O error while writing NAR: {0}")]
    Io(#[from] io::Error),
    #[error("invalid directory entry name {0:?}")]
    InvalidName(String),
    #[error("directory entry {name:?} is not after {prev:?} in sorted order")]
    Unsorted { prev: String, name: String },
    #[error("the previous directory entry was not completed")]
    EntryNotCompleted,
    #[error("invalid symlink target {0:?}")]
    InvalidSymlinkTarget(String),
    #[error("file contents ended after {got} bytes, but {expected} were announced")]
    FileTooShort { expected: u64, got: u64 },
    #[error("{0}")]
    OutOfOrder(&'static str),
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const ZEROS: [u8; 8] = [0; 8];

/// A regular file node up to (not including) its closing tag, its contents written
/// by `contents`, which returns how many bytes it wrote (exactly `size` is valid).
fn write_file<W: Write>(
    w: &mut W,
    executable: bool,
    size: u64,
    contents: &mut dyn FnMut(&mut W) -> io::Result<u64>,
) -> Result<(), NarWriteError> {
    for s in [&b"("[..], b"type", b"regular"] {
        write_str(w, s)?;
    }
    if executable {
        write_str(w, b"executable")?;
        write_str(w, b"")?;
    }
    write_str(w, b"contents")?;
    w.write_all(&size.to_le_bytes())?;
    let copied = contents(w)?;
    if copied != size {
        return Err(NarWriteError::FileTooShort {
            expected: size,
            got: copied,
        });
    }
    w.write_all(&ZEROS[..padding_len(size)])?;
    Ok(())
}

fn write_str<W: Write>(w: &mut W, s: &[u8]) -> io::Result<()> {
    w.write_all(&(s.len() as u64).to_le_bytes())?;
    w.write_all(s)?;
    w.write_all(&ZEROS[..padding_len(s.len() as u64)])
}

/// Start an archive on `w`: writes the magic and returns the root node.
pub fn open<W: Write>(w: &mut W) -> Result<Node<'_, W>, NarWriteError> {
    write_str(w, MAGIC)?;
    Ok(Node { w, completed: None })
}

/// A node waiting for its contents.
pub struct Node<'a, W: Write> {
    w: &'a mut W,
    /// Set when this node is a directory entry: flagged once the entry is closed.
    completed: Option<&'a mut bool>,
}

impl<'a, W: Write> Node<'a, W> {
    fn finish(self) -> Result<(), NarWriteError> {
        // Closes the node, then the surrounding entry if there is one.
        write_str(self.w, b")")?;
        if let Some(flag) = self.completed {
            write_str(self.w, b")")?;
            *flag = true;
        }
        Ok(())
    }

    /// A symlink pointing at `target` (non-empty, no NUL).
    pub fn symlink(mut self, target: &[u8]) -> Result<(), NarWriteError> {
        if target.is_empty() || target.contains(&0) {
            return Err(NarWriteError::InvalidSymlinkTarget(lossy(target)));
        }
        self.symlink_body(target)?;
        self.finish()
    }

    /// A symlink node up to (not including) its closing tag.
    fn symlink_body(&mut self, target: &[u8]) -> Result<(), NarWriteError> {
        for s in [&b"("[..], b"type", b"symlink", b"target", target] {
            write_str(self.w, s)?;
        }
        Ok(())
    }

    /// A regular file of `size` bytes, copied from `contents`, which must supply at
    /// least that many bytes (more are not read).
    pub fn file(
        mut self,
        executable: bool,
        size: u64,
        contents: &mut dyn Read,
    ) -> Result<(), NarWriteError> {
        self.file_body(executable, size, contents)?;
        self.finish()
    }

    /// A file node up to (not including) its closing tag.
    fn file_body(
        &mut self,
        executable: bool,
        size: u64,
        contents: &mut dyn Read,
    ) -> Result<(), NarWriteError> {
        write_file(self.w, executable, size, &mut |w| {
            io::copy(&mut contents.take(size), w)
        })
    }

    /// A regular file whose contents are in memory.
    pub fn file_bytes(self, executable: bool, contents: &[u8]) -> Result<(), NarWriteError> {
        let mut r = contents;
        self.file(executable, contents.len() as u64, &mut r)
    }

    /// A directory; add entries to it, then [`Directory::close`] it.
    pub fn directory(self) -> Result<Directory<'a, W>, NarWriteError> {
        for s in [&b"("[..], b"type", b"directory"] {
            write_str(self.w, s)?;
        }
        Ok(Directory {
            w: self.w,
            completed: self.completed,
            prev: None,
            entry_done: true,
        })
    }
}

/// A directory being written.
pub struct Directory<'a, W: Write> {
    w: &'a mut W,
    completed: Option<&'a mut bool>,
    prev: Option<Vec<u8>>,
    entry_done: bool,
}

impl<W: Write> Directory<'_, W> {
    /// Start the entry `name`, which must sort strictly after the previous one.
    pub fn entry(&mut self, name: &[u8]) -> Result<Node<'_, W>, NarWriteError> {
        if !self.entry_done {
            return Err(NarWriteError::EntryNotCompleted);
        }
        if !is_valid_entry_name(name) {
            return Err(NarWriteError::InvalidName(lossy(name)));
        }
        if let Some(prev) = &self.prev {
            if name <= prev.as_slice() {
                return Err(NarWriteError::Unsorted {
                    prev: lossy(prev),
                    name: lossy(name),
                });
            }
        }
        for s in [&b"entry"[..], b"(", b"name", name, b"node"] {
            write_str(self.w, s)?;
        }
        self.prev = Some(name.to_vec());
        self.entry_done = false;
        Ok(Node {
            w: self.w,
            completed: Some(&mut self.entry_done),
        })
    }

    /// Finish the directory (and its surrounding entry, if any).
    pub fn close(self) -> Result<(), NarWriteError> {
        if !self.entry_done {
            return Err(NarWriteError::EntryNotCompleted);
        }
        Node {
            w: self.w,
            completed: self.completed,
        }
        .finish()
    }
}

/// The same archive as [`open`] writes, driven by flat calls instead of nested
/// borrows, so that a caller can walk a tree of any depth with its own explicit
/// stack instead of recursing. It checks the same rules (sorted, valid names,
/// every node completed) and keeps one small frame per open directory.
pub struct FlatWriter<W: Write> {
    w: W,
    /// Whether the next call must write a node (the root, or after `entry`).
    node_due: bool,
    /// The open directories, innermost last: the previous entry name of each.
    dirs: Vec<Option<Vec<u8>>>,
}

impl<W: Write> FlatWriter<W> {
    /// Writes the magic; the root node is due next.
    pub fn new(mut w: W) -> Result<Self, NarWriteError> {
        write_str(&mut w, MAGIC)?;
        Ok(FlatWriter {
            w,
            node_due: true,
            dirs: Vec::new(),
        })
    }

    /// How many directories are open.
    pub fn depth(&self) -> usize {
        self.dirs.len()
    }

    fn start_node(&mut self) -> Result<(), NarWriteError> {
        if !self.node_due {
            return Err(NarWriteError::OutOfOrder("no node is due here"));
        }
        self.node_due = false;
        Ok(())
    }

    /// Closes a node, and its surrounding entry if it is inside a directory.
    fn end_node(&mut self) -> Result<(), NarWriteError> {
        write_str(&mut self.w, b")")?;
        if !self.dirs.is_empty() {
            write_str(&mut self.w, b")")?;
        }
        Ok(())
    }

    /// The due node is a symlink to `target` (non-empty, no NUL).
    pub fn symlink(&mut self, target: &[u8]) -> Result<(), NarWriteError> {
        if target.is_empty() || target.contains(&0) {
            return Err(NarWriteError::InvalidSymlinkTarget(lossy(target)));
        }
        self.start_node()?;
        Node {
            w: &mut self.w,
            completed: None,
        }
        .symlink_body(target)?;
        self.end_node()
    }

    /// The due node is a regular file of `size` bytes copied from `contents`.
    pub fn file(
        &mut self,
        executable: bool,
        size: u64,
        contents: &mut dyn Read,
    ) -> Result<(), NarWriteError> {
        self.start_node()?;
        Node {
            w: &mut self.w,
            completed: None,
        }
        .file_body(executable, size, contents)?;
        self.end_node()
    }

    /// The due node is a regular file of `size` bytes that `contents` writes to the
    /// sink itself (returning how many it wrote), so a sink with a faster path than
    /// `Write` (such as sharing buffers instead of copying them) can be used.
    pub fn file_with(
        &mut self,
        executable: bool,
        size: u64,
        contents: &mut dyn FnMut(&mut W) -> io::Result<u64>,
    ) -> Result<(), NarWriteError> {
        self.start_node()?;
        write_file(&mut self.w, executable, size, contents)?;
        self.end_node()
    }

    /// The due node is a directory: add entries, then [`Self::close_directory`].
    pub fn open_directory(&mut self) -> Result<(), NarWriteError> {
        self.start_node()?;
        for s in [&b"("[..], b"type", b"directory"] {
            write_str(&mut self.w, s)?;
        }
        self.dirs.push(None);
        Ok(())
    }

    /// Starts the entry `name` of the innermost open directory; its node is due next.
    pub fn entry(&mut self, name: &[u8]) -> Result<(), NarWriteError> {
        if self.node_due {
            return Err(NarWriteError::EntryNotCompleted);
        }
        if !is_valid_entry_name(name) {
            return Err(NarWriteError::InvalidName(lossy(name)));
        }
        let Some(prev) = self.dirs.last_mut() else {
            return Err(NarWriteError::OutOfOrder("entry outside a directory"));
        };
        if let Some(prev) = prev {
            if name <= prev.as_slice() {
                return Err(NarWriteError::Unsorted {
                    prev: lossy(prev),
                    name: lossy(name),
                });
            }
        }
        *prev = Some(name.to_vec());
        for s in [&b"entry"[..], b"(", b"name", name, b"node"] {
            write_str(&mut self.w, s)?;
        }
        self.node_due = true;
        Ok(())
    }

    /// Ends the innermost open directory.
    pub fn close_directory(&mut self) -> Result<(), NarWriteError> {
        if self.node_due {
            return Err(NarWriteError::EntryNotCompleted);
        }
        if self.dirs.pop().is_none() {
            return Err(NarWriteError::OutOfOrder("no directory is open"));
        }
        self.end_node()
    }

    /// Checks the archive is complete and returns the sink.
    pub fn finish(self) -> Result<W, NarWriteError> {
        if self.node_due || !self.dirs.is_empty() {
            return Err(NarWriteError::OutOfOrder("the archive is not complete"));
        }
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_file_layout() {
        let mut out = Vec::new();
        open(&mut out).unwrap().file_bytes(false, b"hi").unwrap();
        let mut expected = Vec::new();
        for s in [
            &b"nix-archive-1"[..],
            b"(",
            b"type",
            b"regular",
            b"contents",
            b"hi",
            b")",
        ] {
            write_str(&mut expected, s).unwrap();
        }
        assert_eq!(out, expected);
        assert_eq!(out.len() % 8, 0);
    }

    #[test]
    fn enforces_order_and_names() {
        let mut out = Vec::new();
        let mut d = open(&mut out).unwrap().directory().unwrap();
        d.entry(b"b").unwrap().symlink(b"x").unwrap();
        assert!(matches!(d.entry(b"a"), Err(NarWriteError::Unsorted { .. })));
        assert!(matches!(d.entry(b"b"), Err(NarWriteError::Unsorted { .. })));
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
            assert!(matches!(d.entry(bad), Err(NarWriteError::InvalidName(_))));
        }
        let _unfinished = d.entry(b"c").unwrap();
        assert!(matches!(
            d.entry(b"d"),
            Err(NarWriteError::EntryNotCompleted)
        ));
        assert!(matches!(d.close(), Err(NarWriteError::EntryNotCompleted)));
    }

    #[test]
    fn flat_writer_matches_nested_writer() {
        let mut nested = Vec::new();
        let mut d = open(&mut nested).unwrap().directory().unwrap();
        d.entry(b"a").unwrap().file_bytes(true, b"hello").unwrap();
        let mut sub = d.entry(b"b").unwrap().directory().unwrap();
        sub.entry(b"l").unwrap().symlink(b"../a").unwrap();
        sub.close().unwrap();
        d.entry(b"c").unwrap().directory().unwrap().close().unwrap();
        d.close().unwrap();

        let mut f = FlatWriter::new(Vec::new()).unwrap();
        f.open_directory().unwrap();
        f.entry(b"a").unwrap();
        f.file(true, 5, &mut &b"hello"[..]).unwrap();
        f.entry(b"b").unwrap();
        f.open_directory().unwrap();
        assert_eq!(f.depth(), 2);
        f.entry(b"l").unwrap();
        f.symlink(b"../a").unwrap();
        f.close_directory().unwrap();
        f.entry(b"c").unwrap();
        f.open_directory().unwrap();
        f.close_directory().unwrap();
        f.close_directory().unwrap();
        assert_eq!(f.finish().unwrap(), nested);
    }

    #[test]
    fn flat_writer_enforces_structure() {
        let mut f = FlatWriter::new(Vec::new()).unwrap();
        assert!(matches!(
            f.entry(b"a"),
            Err(NarWriteError::EntryNotCompleted)
        ));
        f.open_directory().unwrap();
        assert!(matches!(f.symlink(b"x"), Err(NarWriteError::OutOfOrder(_))));
        f.entry(b"b").unwrap();
        assert!(matches!(
            f.close_directory(),
            Err(NarWriteError::EntryNotCompleted)
        ));
        f.symlink(b"x").unwrap();
        assert!(matches!(f.entry(b"a"), Err(NarWriteError::Unsorted { .. })));
        f.close_directory().unwrap();
        assert!(matches!(
            f.close_directory(),
            Err(NarWriteError::OutOfOrder(_))
        ));
        let mut g = FlatWriter::new(Vec::new()).unwrap();
        g.open_directory().unwrap();
        assert!(matches!(g.finish(), Err(NarWriteError::OutOfOrder(_))));
    }

    #[test]
    fn short_file_is_an_error() {
        let mut out = Vec::new();
        let mut r: &[u8] = b"abc";
        let err = open(&mut out).unwrap().file(false, 10, &mut r).unwrap_err();
        assert!(matches!(
            err,
            NarWriteError::FileTooShort {
                expected: 10,
                got: 3
            }
        ));
    }

    #[test]
    fn bad_symlink_target() {
        let mut out = Vec::new();
        assert!(open(&mut out).unwrap().symlink(b"").is_err());
        let mut out = Vec::new();
        assert!(open(&mut out).unwrap().symlink(b"a\0b").is_err());
    }
}
