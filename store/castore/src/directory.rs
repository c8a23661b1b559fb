//! Directories: validation, canonical encoding and digest, and the
//! [`DirectoryService`] that stores them (memory backend here; redb in
//! [`crate::redb_backend`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::RwLock;

use prost::Message;

use crate::proto::node;
use crate::{B3Digest, Directory, Error, Node};

/// Why a directory (or a root node) is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectoryError {
    #[error("invalid entry name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("duplicate entry name {0:?}")]
    DuplicateName(String),
    #[error("entry {0:?} is not in sorted order")]
    NotSorted(String),
    #[error("entry {name:?} has a digest of {len} bytes, expected 32")]
    InvalidDigest { name: String, len: usize },
    #[error("symlink {0:?} has an empty target or one containing NUL")]
    InvalidSymlinkTarget(String),
    #[error("directory size overflows")]
    SizeOverflow,
    #[error("entry {name:?} claims size {claimed}, but its directory has size {actual}")]
    SizeMismatch {
        name: String,
        claimed: u64,
        actual: u64,
    },
    #[error("root node is empty")]
    EmptyNode,
    #[error("cannot decode directory: {0}")]
    Decode(String),
    #[error("encoding is not canonical")]
    NotCanonical,
}

fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Checks a single entry name: what a path component may be.
pub fn validate_name(name: &[u8]) -> Result<(), DirectoryError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name == b"." || name == b".." {
        "reserved"
    } else if name.contains(&b'/') {
        "contains '/'"
    } else if name.contains(&0) {
        "contains NUL"
    } else {
        return Ok(());
    };
    Err(DirectoryError::InvalidName {
        name: lossy(name),
        reason,
    })
}

fn validate_digest(name: &[u8], digest: &[u8]) -> Result<(), DirectoryError> {
    if digest.len() != 32 {
        return Err(DirectoryError::InvalidDigest {
            name: lossy(name),
            len: digest.len(),
        });
    }
    Ok(())
}

fn validate_target(name: &[u8], target: &[u8]) -> Result<(), DirectoryError> {
    if target.is_empty() || target.contains(&0) {
        return Err(DirectoryError::InvalidSymlinkTarget(lossy(name)));
    }
    Ok(())
}

/// Validates a node used as the root of a tree. Its name is not checked here: the
/// root's name is whatever the owner of the tree (e.g. a store path) says it is.
pub fn validate_node(n: &Node) -> Result<(), DirectoryError> {
    match &n.node {
        None => Err(DirectoryError::EmptyNode),
        Some(node::Node::Directory(d)) => validate_digest(&d.name, &d.digest),
        Some(node::Node::File(f)) => validate_digest(&f.name, &f.digest),
        Some(node::Node::Symlink(s)) => validate_target(&s.name, &s.target),
    }
}

impl Directory {
    /// The number of entries in this directory plus the sizes of all its
    /// subdirectories: the number of nodes in the tree below it. Checked, because a
    /// hostile message may claim anything.
    pub fn size(&self) -> Result<u64, DirectoryError> {
        let mut total = (self.files.len() + self.symlinks.len()) as u64;
        for d in &self.directories {
            total = total
                .checked_add(1)
                .and_then(|t| t.checked_add(d.size))
                .ok_or(DirectoryError::SizeOverflow)?;
        }
        Ok(total)
    }

    /// The canonical encoding. Only meaningful for a validated directory.
    pub fn encode_canonical(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// BLAKE3 of the canonical encoding.
    pub fn digest(&self) -> B3Digest {
        B3Digest::of(&self.encode_canonical())
    }

    /// Checks names (valid, sorted and unique across all three lists), digests,
    /// symlink targets and that the size does not overflow.
    pub fn validate(&self) -> Result<(), DirectoryError> {
        fn sorted<'a>(names: impl Iterator<Item = &'a [u8]>) -> Result<(), DirectoryError> {
            let mut prev: Option<&[u8]> = None;
            for n in names {
                validate_name(n)?;
                if let Some(p) = prev {
                    if p == n {
                        return Err(DirectoryError::DuplicateName(lossy(n)));
                    }
                    if p > n {
                        return Err(DirectoryError::NotSorted(lossy(n)));
                    }
                }
                prev = Some(n);
            }
            Ok(())
        }
        sorted(self.directories.iter().map(|d| &d.name[..]))?;
        sorted(self.files.iter().map(|f| &f.name[..]))?;
        sorted(self.symlinks.iter().map(|s| &s.name[..]))?;
        for d in &self.directories {
            validate_digest(&d.name, &d.digest)?;
        }
        for f in &self.files {
            validate_digest(&f.name, &f.digest)?;
        }
        for s in &self.symlinks {
            validate_target(&s.name, &s.target)?;
        }
        // Names must be unique across the three lists too.
        let mut seen = HashSet::new();
        for n in self.names() {
            if !seen.insert(n) {
                return Err(DirectoryError::DuplicateName(lossy(n)));
            }
        }
        self.size()?;
        Ok(())
    }

    /// Decodes and validates, and insists the bytes were the canonical encoding.
    pub fn decode_canonical(bytes: &[u8]) -> Result<Directory, DirectoryError> {
        let d = Directory::decode(bytes).map_err(|e| DirectoryError::Decode(e.to_string()))?;
        d.validate()?;
        if d.encode_canonical() != bytes {
            return Err(DirectoryError::NotCanonical);
        }
        Ok(d)
    }

    fn names(&self) -> impl Iterator<Item = &[u8]> {
        self.directories
            .iter()
            .map(|d| &d.name[..])
            .chain(self.files.iter().map(|f| &f.name[..]))
            .chain(self.symlinks.iter().map(|s| &s.name[..]))
    }

    /// All entries merged into one list sorted by name, as a NAR lists them.
    pub fn entries(&self) -> Vec<Node> {
        let mut all: Vec<Node> = self
            .directories
            .iter()
            .cloned()
            .map(Node::directory)
            .chain(self.files.iter().cloned().map(Node::file))
            .chain(self.symlinks.iter().cloned().map(Node::symlink))
            .collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all
    }

    /// Adds an entry, keeping each list sorted. Does not check for duplicates;
    /// [`Directory::validate`] does.
    pub fn insert(&mut self, n: Node) {
        match n.node {
            Some(node::Node::Directory(d)) => {
                let i = self.directories.partition_point(|x| x.name < d.name);
                self.directories.insert(i, d);
            }
            Some(node::Node::File(f)) => {
                let i = self.files.partition_point(|x| x.name < f.name);
                self.files.insert(i, f);
            }
            Some(node::Node::Symlink(s)) => {
                let i = self.symlinks.partition_point(|x| x.name < s.name);
                self.symlinks.insert(i, s);
            }
            None => {}
        }
    }
}

/// Where directories are kept. Backends store raw canonical bytes under their
/// digest; checking happens once, in the methods on `dyn DirectoryService`.
pub trait DirectoryService: Send + Sync {
    fn get_raw(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error>;
    fn put_raw(&self, digest: &B3Digest, bytes: Vec<u8>) -> Result<(), Error>;
    fn has(&self, digest: &B3Digest) -> Result<bool, Error>;
    /// Every stored digest (for `verify`).
    fn list(&self) -> Result<Vec<B3Digest>, Error>;
    /// The encoded closure of `root` (parents before children) in one request, for
    /// backends where each request costs a round trip. `None`: the caller walks the
    /// closure with `get_raw`. Unchecked, like `get_raw`.
    fn get_closure_raw(&self, _root: &B3Digest) -> Result<Option<Vec<Vec<u8>>>, Error> {
        Ok(None)
    }
    /// Stores what the backend has buffered (see [`crate::BlobService::flush`]).
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}

impl dyn DirectoryService + '_ {
    /// Reads a directory, checking that its bytes still hash to `digest` and that it
    /// is valid. `Ok(None)` if absent.
    pub fn get(&self, digest: &B3Digest) -> Result<Option<Directory>, Error> {
        let Some(bytes) = self.get_raw(digest)? else {
            return Ok(None);
        };
        let actual = B3Digest::of(&bytes);
        if &actual != digest {
            return Err(Error::Corrupt {
                kind: "directory",
                digest: *digest,
                actual,
            });
        }
        Directory::decode_canonical(&bytes)
            .map(Some)
            .map_err(|source| Error::InvalidDirectory {
                digest: *digest,
                source,
            })
    }

    /// Like [`get`](Self::get), but absence is an error.
    pub fn get_existing(&self, digest: &B3Digest) -> Result<Directory, Error> {
        self.get(digest)?.ok_or(Error::NotFound {
            kind: "directory",
            digest: *digest,
        })
    }

    /// Validates and stores a directory. Its subdirectories must already be stored
    /// and have the sizes it claims, so a stored directory never has missing parts.
    pub fn put(&self, dir: &Directory) -> Result<B3Digest, Error> {
        let bytes = dir.encode_canonical();
        let digest = B3Digest::of(&bytes);
        let invalid = |source| Error::InvalidDirectory { digest, source };
        dir.validate().map_err(invalid)?;
        if self.has(&digest)? {
            return Ok(digest);
        }
        for child in &dir.directories {
            let cd = B3Digest::try_from(&child.digest[..]).expect("validated digest");
            let c = self.get(&cd)?.ok_or(Error::NotFound {
                kind: "directory",
                digest: cd,
            })?;
            let actual = c.size().map_err(invalid)?;
            if actual != child.size {
                return Err(invalid(DirectoryError::SizeMismatch {
                    name: lossy(&child.name),
                    claimed: child.size,
                    actual,
                }));
            }
        }
        self.put_raw(&digest, bytes)?;
        Ok(digest)
    }

    /// The closure of `root`: it and every directory below it, each once, parents
    /// before children (breadth first). Missing directories are an error.
    pub fn closure(&self, root: &B3Digest) -> Result<Vec<(B3Digest, Directory)>, Error> {
        if let Some(raw) = self.get_closure_raw(root)? {
            return checked_closure(root, raw);
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([*root]);
        seen.insert(*root);
        while let Some(d) = queue.pop_front() {
            let dir = self.get_existing(&d)?;
            for child in &dir.directories {
                let cd = B3Digest::try_from(&child.digest[..]).expect("validated digest");
                if seen.insert(cd) {
                    queue.push_back(cd);
                }
            }
            out.push((d, dir));
        }
        Ok(out)
    }
}

/// Checks a closure fetched in one piece: each directory hashes to a digest that is
/// the root or a child of one received before it, is valid, and comes once; every
/// child is there.
fn checked_closure(
    root: &B3Digest,
    raw: Vec<Vec<u8>>,
) -> Result<Vec<(B3Digest, Directory)>, Error> {
    let mut wanted = HashSet::from([*root]);
    let mut received = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for bytes in raw {
        let digest = B3Digest::of(&bytes);
        if out.is_empty() && digest != *root {
            return Err(Error::Corrupt {
                kind: "directory",
                digest: *root,
                actual: digest,
            });
        }
        if !wanted.contains(&digest) || !received.insert(digest) {
            return Err(Error::Malformed {
                kind: "directory closure",
                digest: *root,
                reason: format!("directory {digest} is not expected at this point"),
            });
        }
        let dir = Directory::decode_canonical(&bytes)
            .map_err(|source| Error::InvalidDirectory { digest, source })?;
        for child in &dir.directories {
            wanted.insert(B3Digest::try_from(&child.digest[..]).expect("validated digest"));
        }
        out.push((digest, dir));
    }
    if let Some(missing) = wanted.difference(&received).next() {
        return Err(Error::NotFound {
            kind: "directory",
            digest: *missing,
        });
    }
    Ok(out)
}

/// Directories in a hash map; for tests and `memory://` stores.
#[derive(Default)]
pub struct MemoryDirectoryService {
    map: RwLock<HashMap<B3Digest, Vec<u8>>>,
}

impl MemoryDirectoryService {
    /// Replaces stored bytes without any checks: lets tests simulate corruption.
    pub fn corrupt_for_test(&self, digest: &B3Digest, bytes: Vec<u8>) {
        self.map.write().unwrap().insert(*digest, bytes);
    }
}

impl DirectoryService for MemoryDirectoryService {
    fn get_raw(&self, digest: &B3Digest) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.map.read().unwrap().get(digest).cloned())
    }
    fn put_raw(&self, digest: &B3Digest, bytes: Vec<u8>) -> Result<(), Error> {
        self.map.write().unwrap().insert(*digest, bytes);
        Ok(())
    }
    fn has(&self, digest: &B3Digest) -> Result<bool, Error> {
        Ok(self.map.read().unwrap().contains_key(digest))
    }
    fn list(&self) -> Result<Vec<B3Digest>, Error> {
        Ok(self.map.read().unwrap().keys().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DirectoryNode, FileNode, SymlinkNode};
    use proptest::prelude::*;

    fn file(name: &str) -> FileNode {
        FileNode {
            name: name.into(),
            digest: B3Digest::of(name.as_bytes()).0.to_vec(),
            size: 1,
            executable: false,
        }
    }

    #[test]
    fn rejects_bad_names() {
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            let d = Directory {
                files: vec![file(bad)],
                ..Default::default()
            };
            assert!(
                matches!(d.validate(), Err(DirectoryError::InvalidName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_unsorted_and_duplicates() {
        let d = Directory {
            files: vec![file("b"), file("a")],
            ..Default::default()
        };
        assert_eq!(d.validate(), Err(DirectoryError::NotSorted("a".into())));
        let d = Directory {
            files: vec![file("a"), file("a")],
            ..Default::default()
        };
        assert_eq!(d.validate(), Err(DirectoryError::DuplicateName("a".into())));
        let d = Directory {
            files: vec![file("a")],
            symlinks: vec![SymlinkNode {
                name: "a".into(),
                target: "x".into(),
            }],
            ..Default::default()
        };
        assert_eq!(d.validate(), Err(DirectoryError::DuplicateName("a".into())));
    }

    #[test]
    fn rejects_bad_digest_target_and_overflow() {
        let mut f = file("a");
        f.digest.pop();
        let d = Directory {
            files: vec![f],
            ..Default::default()
        };
        assert!(matches!(
            d.validate(),
            Err(DirectoryError::InvalidDigest { len: 31, .. })
        ));
        let d = Directory {
            symlinks: vec![SymlinkNode {
                name: "l".into(),
                target: vec![],
            }],
            ..Default::default()
        };
        assert!(matches!(
            d.validate(),
            Err(DirectoryError::InvalidSymlinkTarget(_))
        ));
        let d = Directory {
            directories: vec![DirectoryNode {
                name: "d".into(),
                digest: vec![0; 32],
                size: u64::MAX,
            }],
            ..Default::default()
        };
        assert_eq!(d.validate(), Err(DirectoryError::SizeOverflow));
    }

    #[test]
    fn service_checks_children_and_sizes_and_corruption() {
        let svc: &dyn DirectoryService = &MemoryDirectoryService::default();
        let leaf = Directory {
            files: vec![file("x"), file("y")],
            ..Default::default()
        };
        let leaf_digest = leaf.digest();
        let parent = |size| Directory {
            directories: vec![DirectoryNode {
                name: "sub".into(),
                digest: leaf_digest.0.to_vec(),
                size,
            }],
            ..Default::default()
        };
        // Child missing.
        assert!(matches!(svc.put(&parent(2)), Err(Error::NotFound { .. })));
        assert_eq!(svc.put(&leaf).unwrap(), leaf_digest);
        // Wrong size.
        assert!(matches!(
            svc.put(&parent(5)),
            Err(Error::InvalidDirectory {
                source: DirectoryError::SizeMismatch { .. },
                ..
            })
        ));
        let p = svc.put(&parent(2)).unwrap();
        assert_eq!(svc.get(&p).unwrap().unwrap().size().unwrap(), 3);
        let closure = svc.closure(&p).unwrap();
        assert_eq!(
            closure.iter().map(|c| c.0).collect::<Vec<_>>(),
            vec![p, leaf_digest]
        );

        let mem = MemoryDirectoryService::default();
        let svc: &dyn DirectoryService = &mem;
        let d = svc.put(&leaf).unwrap();
        mem.corrupt_for_test(&d, b"garbage".to_vec());
        assert!(matches!(svc.get(&d), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn non_canonical_bytes_rejected() {
        let d = Directory {
            files: vec![file("a")],
            ..Default::default()
        };
        let mut bytes = d.encode_canonical();
        // An unknown field appended still decodes, but is not canonical.
        bytes.extend_from_slice(&[0x78, 0x01]);
        assert_eq!(
            Directory::decode_canonical(&bytes),
            Err(DirectoryError::NotCanonical)
        );
    }

    fn arb_name() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(1u8..=255, 1..6)
            .prop_filter("valid", |n| validate_name(n).is_ok())
    }

    proptest! {
        /// Building a directory from entries in any order gives one encoding, which
        /// decodes back to the same directory.
        #[test]
        fn encoding_is_canonical(
            entries in proptest::collection::btree_map(arb_name(), (0u8..3, any::<bool>(), 0u64..1000), 0..12),
            seed in any::<u64>(),
        ) {
            let nodes: Vec<Node> = entries.iter().map(|(name, (kind, exec, size))| match kind {
                0 => Node::directory(DirectoryNode { name: name.clone(), digest: vec![7; 32], size: *size }),
                1 => Node::file(FileNode { name: name.clone(), digest: vec![9; 32], size: *size, executable: *exec }),
                _ => Node::symlink(SymlinkNode { name: name.clone(), target: b"t".to_vec() }),
            }).collect();
            let mut a = Directory::default();
            for n in nodes.iter().cloned() { a.insert(n); }
            // Insert in a shuffled order.
            let mut shuffled = nodes.clone();
            let len = shuffled.len();
            if len > 1 {
                let mut s = seed;
                for i in (1..len).rev() {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    shuffled.swap(i, (s >> 33) as usize % (i + 1));
                }
            }
            let mut b = Directory::default();
            for n in shuffled { b.insert(n); }
            prop_assert!(a.validate().is_ok());
            prop_assert_eq!(a.encode_canonical(), b.encode_canonical());
            prop_assert_eq!(a.digest(), b.digest());
            let back = Directory::decode_canonical(&a.encode_canonical()).unwrap();
            prop_assert_eq!(&back, &a);
            prop_assert_eq!(back.entries().len(), entries.len());
        }
    }
}
