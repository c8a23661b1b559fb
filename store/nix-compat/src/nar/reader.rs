//! Streaming, validating NAR reader.
//!
//! Pull-based: [`NarReader::root`] returns the root [`Node`]; a directory yields
//! its entries one at a time through [`DirReader::next_entry`], and a file's contents are
//! read through [`FileReader`] (an `io::Read`). Nothing is buffered beyond one
//! name. A part the caller does not consume (a file not read to the end, a
//! subdirectory not iterated) is skipped, and still validated, when the caller
//! moves on. Everything that C++ Nix would not have written is rejected with the
//! byte offset where it was found: bad magic, unknown tags, unsorted or duplicate
//! entries, invalid names, non-zero padding, truncation. Tags are read with small
//! reads, so give it a `BufReader` over a file or socket.

use std::io::{self, Read};

use thiserror::Error;

use super::{is_valid_entry_name, padding_len, MAGIC};

/// Longest tag string we accept; real tags are at most 13 bytes.
const MAX_TAG_LEN: u64 = 64;
/// Longest entry name or symlink target we accept (Linux's PATH_MAX).
const MAX_NAME_LEN: u64 = 4096;

/// A malformed or unreadable archive, with the byte offset of the problem.
#[derive(Debug, Error)]
#[error("invalid NAR at byte {offset}: {kind}")]
pub struct NarReadError {
    pub offset: u64,
    pub kind: NarReadErrorKind,
}

#[derive(Debug, Error)]
pub enum NarReadErrorKind {
    #[error("I/O error: {0}")]
    Io(io::Error),
    #[error("archive is truncated")]
    Truncated,
    #[error("not a NAR (bad magic)")]
    BadMagic,
    #[error("expected {expected:?}, found {found:?}")]
    UnexpectedTag {
        expected: &'static str,
        found: String,
    },
    #[error("unknown node type {0:?}")]
    UnknownNodeType(String),
    #[error("string of {len} bytes is longer than the maximum of {max}")]
    StringTooLong { len: u64, max: u64 },
    #[error("non-zero padding")]
    BadPadding,
    #[error("invalid entry name {0:?}")]
    InvalidName(String),
    #[error("entry {name:?} is not after {prev:?} (entries must be sorted and unique)")]
    Unsorted { prev: String, name: String },
    #[error("invalid symlink target {0:?}")]
    InvalidSymlinkTarget(String),
    #[error("an earlier error left the archive unreadable")]
    Poisoned,
    #[error("directories nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("the root node was already read")]
    RootAlreadyRead,
}

impl From<NarReadError> for io::Error {
    fn from(e: NarReadError) -> io::Error {
        match e.kind {
            NarReadErrorKind::Io(inner) => inner,
            _ => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Something that has been opened and must be closed before its parent moves on.
enum Frame {
    File { remaining: u64, pad: usize },
    Dir { prev: Option<Vec<u8>> },
}

/// What a node header announced; the borrowing [`Node`] is built from it.
enum Header {
    File { executable: bool, size: u64 },
    Symlink { target: Vec<u8> },
    Directory,
}

struct Core<R> {
    r: R,
    offset: u64,
    stack: Vec<Frame>,
    poisoned: bool,
}

impl<R: Read> Core<R> {
    fn err(&mut self, kind: NarReadErrorKind) -> NarReadError {
        self.poisoned = true;
        NarReadError {
            offset: self.offset,
            kind,
        }
    }

    fn check(&mut self) -> Result<(), NarReadError> {
        if self.poisoned {
            return Err(NarReadError {
                offset: self.offset,
                kind: NarReadErrorKind::Poisoned,
            });
        }
        Ok(())
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), NarReadError> {
        match self.r.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.err(NarReadErrorKind::Truncated))
            }
            Err(e) => Err(self.err(NarReadErrorKind::Io(e))),
        }
    }

    fn read_u64(&mut self) -> Result<u64, NarReadError> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn read_padding(&mut self, pad: usize) -> Result<(), NarReadError> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b[..pad])?;
        if b.iter().any(|&x| x != 0) {
            self.offset -= pad as u64;
            return Err(self.err(NarReadErrorKind::BadPadding));
        }
        Ok(())
    }

    fn read_string(&mut self, max: u64) -> Result<Vec<u8>, NarReadError> {
        let len = self.read_u64()?;
        if len > max {
            self.offset -= 8;
            return Err(self.err(NarReadErrorKind::StringTooLong { len, max }));
        }
        let mut buf = vec![0u8; len as usize];
        self.read_exact(&mut buf)?;
        self.read_padding(padding_len(len))?;
        Ok(buf)
    }

    fn expect(&mut self, tag: &'static str) -> Result<(), NarReadError> {
        let start = self.offset;
        let found = self.read_string(MAX_TAG_LEN)?;
        if found != tag.as_bytes() {
            self.offset = start;
            return Err(self.err(NarReadErrorKind::UnexpectedTag {
                expected: tag,
                found: lossy(&found),
            }));
        }
        Ok(())
    }

    /// Read a node up to its contents; pushes a frame for files and directories.
    fn read_node_header(&mut self) -> Result<Header, NarReadError> {
        self.expect("(")?;
        self.expect("type")?;
        let start = self.offset;
        let ty = self.read_string(MAX_TAG_LEN)?;
        match ty.as_slice() {
            b"regular" => {
                let start = self.offset;
                let tag = self.read_string(MAX_TAG_LEN)?;
                let executable = match tag.as_slice() {
                    b"executable" => {
                        self.expect("")?;
                        self.expect("contents")?;
                        true
                    }
                    b"contents" => false,
                    other => {
                        let found = lossy(other);
                        self.offset = start;
                        return Err(self.err(NarReadErrorKind::UnexpectedTag {
                            expected: "contents",
                            found,
                        }));
                    }
                };
                let size = self.read_u64()?;
                self.stack.push(Frame::File {
                    remaining: size,
                    pad: padding_len(size),
                });
                Ok(Header::File { executable, size })
            }
            b"symlink" => {
                self.expect("target")?;
                let start = self.offset;
                let target = self.read_string(MAX_NAME_LEN)?;
                if target.is_empty() || target.contains(&0) {
                    self.offset = start;
                    return Err(self.err(NarReadErrorKind::InvalidSymlinkTarget(lossy(&target))));
                }
                self.close_node()?;
                Ok(Header::Symlink { target })
            }
            b"directory" => {
                self.stack.push(Frame::Dir { prev: None });
                Ok(Header::Directory)
            }
            other => {
                let t = lossy(other);
                self.offset = start;
                Err(self.err(NarReadErrorKind::UnknownNodeType(t)))
            }
        }
    }

    /// Read the `)` that ends a node, and the `)` of its entry if it is one.
    /// The node's own frame (if any) must already be popped.
    fn close_node(&mut self) -> Result<(), NarReadError> {
        self.expect(")")?;
        if !self.stack.is_empty() {
            self.expect(")")?;
        }
        Ok(())
    }

    /// With a directory frame on top: read the next entry's name and node header,
    /// or the directory's end (popping it) and return None.
    fn next_entry(&mut self) -> Result<Option<(Vec<u8>, Header)>, NarReadError> {
        let start = self.offset;
        let tag = self.read_string(MAX_TAG_LEN)?;
        match tag.as_slice() {
            b")" => {
                self.stack.pop();
                if !self.stack.is_empty() {
                    self.expect(")")?;
                }
                Ok(None)
            }
            b"entry" => {
                self.expect("(")?;
                self.expect("name")?;
                let name_start = self.offset;
                let name = self.read_string(MAX_NAME_LEN)?;
                if !is_valid_entry_name(&name) {
                    self.offset = name_start;
                    return Err(self.err(NarReadErrorKind::InvalidName(lossy(&name))));
                }
                if let Some(Frame::Dir { prev }) = self.stack.last_mut() {
                    if let Some(p) = prev {
                        if name.as_slice() <= p.as_slice() {
                            let kind = NarReadErrorKind::Unsorted {
                                prev: lossy(p),
                                name: lossy(&name),
                            };
                            self.offset = name_start;
                            return Err(self.err(kind));
                        }
                    }
                    *prev = Some(name.clone());
                }
                self.expect("node")?;
                let header = self.read_node_header()?;
                Ok(Some((name, header)))
            }
            other => {
                let found = lossy(other);
                self.offset = start;
                Err(self.err(NarReadErrorKind::UnexpectedTag {
                    expected: "entry",
                    found,
                }))
            }
        }
    }

    /// Skip (and validate) whatever is open until only `depth` frames remain.
    fn unwind_to(&mut self, depth: usize) -> Result<(), NarReadError> {
        self.check()?;
        while self.stack.len() > depth {
            match self.stack.last() {
                Some(Frame::File { remaining, pad }) => {
                    let (remaining, pad) = (*remaining, *pad);
                    let copied = io::copy(&mut (&mut self.r).take(remaining), &mut io::sink())
                        .map_err(NarReadErrorKind::Io);
                    match copied {
                        Ok(n) => {
                            self.offset += n;
                            if n != remaining {
                                return Err(self.err(NarReadErrorKind::Truncated));
                            }
                        }
                        Err(kind) => return Err(self.err(kind)),
                    }
                    self.read_padding(pad)?;
                    self.stack.pop();
                    self.close_node()?;
                }
                Some(Frame::Dir { .. }) => {
                    self.next_entry()?;
                }
                None => unreachable!("loop condition guarantees a frame"),
            }
        }
        Ok(())
    }

    /// The node for a header just read: files and directories are the top frame.
    fn node(&mut self, header: Header) -> Node<'_, R> {
        // A symlink pushed no frame (and may be the root, with none at all).
        let depth = self.stack.len().saturating_sub(1);
        match header {
            Header::File { executable, size } => Node::File {
                executable,
                size,
                reader: FileReader { core: self, depth },
            },
            Header::Symlink { target } => Node::Symlink { target },
            Header::Directory => Node::Directory(DirReader { core: self, depth }),
        }
    }
}

/// Reads one archive from `R`.
pub struct NarReader<R> {
    core: Core<R>,
    root_read: bool,
}

impl<R: Read> NarReader<R> {
    pub fn new(r: R) -> Self {
        NarReader {
            core: Core {
                r,
                offset: 0,
                stack: Vec::new(),
                poisoned: false,
            },
            root_read: false,
        }
    }

    /// Read the magic and the root node. Can be called once.
    pub fn root(&mut self) -> Result<Node<'_, R>, NarReadError> {
        let core = &mut self.core;
        core.check()?;
        if self.root_read {
            return Err(core.err(NarReadErrorKind::RootAlreadyRead));
        }
        self.root_read = true;
        match core.read_string(MAX_TAG_LEN) {
            Ok(m) if m == MAGIC => {}
            Ok(_) => {
                core.offset = 0;
                return Err(core.err(NarReadErrorKind::BadMagic));
            }
            Err(NarReadError {
                kind: NarReadErrorKind::StringTooLong { .. } | NarReadErrorKind::Truncated,
                ..
            }) => {
                core.offset = 0;
                return Err(core.err(NarReadErrorKind::BadMagic));
            }
            Err(e) => return Err(e),
        }
        let header = core.read_node_header()?;
        Ok(core.node(header))
    }

    /// Read (and validate) the rest of the archive, and return the underlying
    /// reader positioned just after it. Reads the root first if nobody did.
    pub fn finish(mut self) -> Result<R, NarReadError> {
        if !self.root_read {
            self.root()?;
        }
        self.core.unwind_to(0)?;
        Ok(self.core.r)
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.core.offset
    }

    /// The archive as a flat sequence of events, so that a caller can walk a tree
    /// of any depth with its own explicit stack instead of recursing: first the
    /// root node, then, inside each directory, one event per entry followed by
    /// [`Event::DirEnd`]; `None` once the archive is complete. A file not read to
    /// the end, or a [`DirReader`] left unused, is skipped (and validated) here.
    /// Do not mix with [`Self::root`]; call [`Self::finish`] after `None`.
    pub fn next_event(&mut self) -> Result<Option<Event<'_, R>>, NarReadError> {
        if !self.root_read {
            let node = self.root()?;
            return Ok(Some(Event::Node { name: None, node }));
        }
        let core = &mut self.core;
        core.check()?;
        if let Some(Frame::File { .. }) = core.stack.last() {
            let depth = core.stack.len() - 1;
            core.unwind_to(depth)?;
        }
        if core.stack.is_empty() {
            return Ok(None);
        }
        Ok(Some(match core.next_entry()? {
            None => Event::DirEnd,
            Some((name, header)) => Event::Node {
                name: Some(name),
                node: core.node(header),
            },
        }))
    }
}

/// One step of [`NarReader::next_event`].
pub enum Event<'a, R: Read> {
    /// A node: the root (no name) or an entry of the innermost open directory.
    /// A directory node opens a directory: its entries follow.
    Node {
        name: Option<Vec<u8>>,
        node: Node<'a, R>,
    },
    /// The innermost open directory has no more entries.
    DirEnd,
}

/// One node of the archive.
pub enum Node<'a, R: Read> {
    File {
        executable: bool,
        size: u64,
        reader: FileReader<'a, R>,
    },
    Symlink {
        target: Vec<u8>,
    },
    Directory(DirReader<'a, R>),
}

/// The contents of a regular file. Reading to the end also validates the
/// padding and the closing tags; errors arrive as `io::ErrorKind::InvalidData`
/// wrapping a [`NarReadError`].
pub struct FileReader<'a, R: Read> {
    core: &'a mut Core<R>,
    depth: usize,
}

impl<R: Read> Read for FileReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let core = &mut *self.core;
        core.check()?;
        if core.stack.len() != self.depth + 1 {
            return Ok(0);
        }
        let Some(Frame::File { remaining, .. }) = core.stack.last() else {
            return Ok(0);
        };
        let remaining = *remaining;
        if remaining == 0 {
            core.unwind_to(self.depth)?;
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(remaining.min(usize::MAX as u64) as usize);
        let n = match core.r.read(&mut buf[..want]) {
            Ok(0) => return Err(core.err(NarReadErrorKind::Truncated).into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return Err(core.err(NarReadErrorKind::Io(e)).into()),
        };
        core.offset += n as u64;
        if let Some(Frame::File { remaining, .. }) = core.stack.last_mut() {
            *remaining -= n as u64;
            if *remaining == 0 {
                // Validate the tail now, so errors surface before EOF is reported.
                core.unwind_to(self.depth)?;
            }
        }
        Ok(n)
    }
}

/// A directory's entries, in archive order.
pub struct DirReader<'a, R: Read> {
    core: &'a mut Core<R>,
    depth: usize,
}

/// One directory entry.
pub struct Entry<'a, R: Read> {
    pub name: Vec<u8>,
    pub node: Node<'a, R>,
}

impl<R: Read> DirReader<'_, R> {
    /// Bytes of the archive consumed so far.
    pub fn offset(&self) -> u64 {
        self.core.offset
    }

    /// The next entry, or `None` at the end of the directory. Skips whatever of
    /// the previous entry was not consumed.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, R>>, NarReadError> {
        let core = &mut *self.core;
        core.unwind_to(self.depth + 1)?;
        if core.stack.len() <= self.depth {
            return Ok(None);
        }
        match core.next_entry()? {
            None => Ok(None),
            Some((name, header)) => Ok(Some(Entry {
                name,
                node: core.node(header),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_walk_a_tree_flat() {
        let mut nar = Vec::new();
        let mut d = writer::open(&mut nar).unwrap().directory().unwrap();
        d.entry(b"a").unwrap().file_bytes(true, b"hello").unwrap();
        let mut sub = d.entry(b"b").unwrap().directory().unwrap();
        sub.entry(b"f")
            .unwrap()
            .file_bytes(false, b"skipped")
            .unwrap();
        sub.entry(b"l").unwrap().symlink(b"../a").unwrap();
        sub.close().unwrap();
        d.close().unwrap();
        nar.extend_from_slice(b"after");

        let mut r = NarReader::new(&nar[..]);
        let mut seen = Vec::new();
        while let Some(ev) = r.next_event().unwrap() {
            seen.push(match ev {
                Event::DirEnd => "end".to_string(),
                Event::Node { name, node } => {
                    let name = String::from_utf8(name.unwrap_or_default()).unwrap();
                    match node {
                        Node::Directory(_) => format!("dir {name}"),
                        Node::Symlink { target } => {
                            format!("link {name} {}", String::from_utf8(target).unwrap())
                        }
                        Node::File { mut reader, .. } if name == "a" => {
                            let mut s = String::new();
                            reader.read_to_string(&mut s).unwrap();
                            format!("file {name} {s}")
                        }
                        Node::File { .. } => format!("file {name} unread"),
                    }
                }
            });
        }
        assert_eq!(
            seen,
            [
                "dir ",
                "file a hello",
                "dir b",
                "file f unread",
                "link l ../a",
                "end",
                "end"
            ]
        );
        let mut rest = Vec::new();
        r.finish().unwrap().read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"after");
    }
    use crate::nar::tree::NarTree;
    use crate::nar::writer;

    fn enc(parts: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(p);
            out.resize(out.len() + padding_len(p.len() as u64), 0);
        }
        out
    }

    fn read_all(bytes: &[u8]) -> Result<NarTree, NarReadError> {
        NarTree::read_from(bytes)
    }

    fn kind(bytes: &[u8]) -> NarReadErrorKind {
        read_all(bytes).unwrap_err().kind
    }

    fn dir_with(names: &[&[u8]]) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = vec![b"nix-archive-1", b"(", b"type", b"directory"];
        for n in names {
            parts.extend_from_slice(&[
                b"entry", b"(", b"name", n, b"node", b"(", b"type", b"symlink", b"target", b"x",
                b")", b")",
            ]);
        }
        parts.push(b")");
        enc(&parts)
    }

    #[test]
    fn reads_what_the_writer_writes() {
        let good = dir_with(&[b"a", b"b"]);
        let t = read_all(&good).unwrap();
        let mut again = Vec::new();
        t.write_to(&mut again).unwrap();
        assert_eq!(again, good);
    }

    #[test]
    fn rejects_bad_magic() {
        assert!(matches!(
            kind(&enc(&[b"nix-archive-2"])),
            NarReadErrorKind::BadMagic
        ));
        assert!(matches!(kind(b"short"), NarReadErrorKind::BadMagic));
        assert!(matches!(kind(&[0xff; 16]), NarReadErrorKind::BadMagic));
    }

    #[test]
    fn rejects_unsorted_and_duplicate_entries() {
        assert!(matches!(
            kind(&dir_with(&[b"b", b"a"])),
            NarReadErrorKind::Unsorted { .. }
        ));
        assert!(matches!(
            kind(&dir_with(&[b"a", b"a"])),
            NarReadErrorKind::Unsorted { .. }
        ));
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"nul\0"] {
            assert!(
                matches!(kind(&dir_with(&[bad])), NarReadErrorKind::InvalidName(_)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_padding() {
        let mut bytes = enc(&[
            b"nix-archive-1",
            b"(",
            b"type",
            b"regular",
            b"contents",
            b"abc",
            b")",
        ]);
        // "abc" contents sit at: magic(8+16) ( (16) type(16) regular(16) contents(16) len(8)
        let pad_at = 24 + 16 + 16 + 16 + 16 + 8 + 3;
        bytes[pad_at] = 1;
        let e = read_all(&bytes).unwrap_err();
        assert!(matches!(e.kind, NarReadErrorKind::BadPadding));
        assert_eq!(e.offset, pad_at as u64);
    }

    #[test]
    fn rejects_truncation_everywhere() {
        let mut good = Vec::new();
        {
            let mut d = writer::open(&mut good).unwrap().directory().unwrap();
            d.entry(b"f")
                .unwrap()
                .file_bytes(true, b"hello world")
                .unwrap();
            d.close().unwrap();
        }
        assert!(read_all(&good).is_ok());
        for cut in 0..good.len() {
            assert!(read_all(&good[..cut]).is_err(), "accepted a cut at {cut}");
        }
    }

    #[test]
    fn rejects_unknown_type_and_tags() {
        let bytes = enc(&[b"nix-archive-1", b"(", b"type", b"fifo", b")"]);
        assert!(matches!(kind(&bytes), NarReadErrorKind::UnknownNodeType(_)));
        let bytes = enc(&[b"nix-archive-1", b"[", b"type"]);
        assert!(matches!(
            kind(&bytes),
            NarReadErrorKind::UnexpectedTag { .. }
        ));
        let mut bytes = enc(&[b"nix-archive-1", b"("]);
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            kind(&bytes),
            NarReadErrorKind::StringTooLong { .. }
        ));
    }

    #[test]
    fn skips_unconsumed_parts() {
        let mut nar = Vec::new();
        {
            let mut d = writer::open(&mut nar).unwrap().directory().unwrap();
            {
                let mut sub = d.entry(b"a").unwrap().directory().unwrap();
                sub.entry(b"big")
                    .unwrap()
                    .file_bytes(false, &[7u8; 1000])
                    .unwrap();
                sub.close().unwrap();
            }
            d.entry(b"b").unwrap().file_bytes(false, b"xyz").unwrap();
            d.entry(b"c").unwrap().symlink(b"a").unwrap();
            d.close().unwrap();
        }
        nar.extend_from_slice(b"TRAILER");
        let mut r = NarReader::new(nar.as_slice());
        let names = {
            let Node::Directory(mut d) = r.root().unwrap() else {
                panic!()
            };
            let mut names = Vec::new();
            while let Some(e) = d.next_entry().unwrap() {
                names.push(e.name.clone());
            }
            names
        };
        assert_eq!(names, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        let rest = r.finish().unwrap();
        assert_eq!(rest, b"TRAILER");
    }

    #[test]
    fn deep_nesting_uses_no_call_stack() {
        const DEPTH: usize = 100_000;
        let open = enc(&[
            b"(",
            b"type",
            b"directory",
            b"entry",
            b"(",
            b"name",
            b"d",
            b"node",
        ]);
        let mut nar = enc(&[b"nix-archive-1"]);
        for _ in 0..DEPTH {
            nar.extend_from_slice(&open);
        }
        nar.extend_from_slice(&enc(&[b"(", b"type", b"symlink", b"target", b"x", b")"]));
        // Per level, the entry's ")" then its directory's ")".
        let close = enc(&[b")", b")"]);
        for _ in 0..DEPTH {
            nar.extend_from_slice(&close);
        }
        let rest = NarReader::new(nar.as_slice()).finish().unwrap();
        assert!(rest.is_empty());
    }

    #[test]
    fn errors_poison_the_reader() {
        let bytes = dir_with(&[b"b", b"a"]);
        let mut r = NarReader::new(bytes.as_slice());
        let Node::Directory(mut d) = r.root().unwrap() else {
            panic!()
        };
        assert!(d.next_entry().unwrap().is_some());
        assert!(d.next_entry().is_err());
        match d.next_entry() {
            Err(e) => assert!(matches!(e.kind, NarReadErrorKind::Poisoned)),
            Ok(_) => panic!("a poisoned reader went on"),
        }
    }
}
