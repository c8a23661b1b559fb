//! The castore's protobuf messages, declared with prost's derive macros (field
//! numbers follow tvix's `castore.proto`, so the encoding is wire-compatible).
//!
//! prost encodes fields in tag order and repeated fields in their given order, so a
//! validated message (entries sorted by name) has exactly one encoding: that is the
//! canonical form, and a directory's digest is the BLAKE3 of it.

/// One directory: its entries, each list sorted by name, names unique across lists.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Directory {
    #[prost(message, repeated, tag = "1")]
    pub directories: Vec<DirectoryNode>,
    #[prost(message, repeated, tag = "2")]
    pub files: Vec<FileNode>,
    #[prost(message, repeated, tag = "3")]
    pub symlinks: Vec<SymlinkNode>,
}

/// A subdirectory: its name, the digest of its `Directory`, and its size
/// (see [`Directory::size`]).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct DirectoryNode {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub digest: Vec<u8>,
    #[prost(uint64, tag = "3")]
    pub size: u64,
}

/// A regular file: its name, the digest of its contents (a blob), size, mode.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FileNode {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub digest: Vec<u8>,
    #[prost(uint64, tag = "3")]
    pub size: u64,
    #[prost(bool, tag = "4")]
    pub executable: bool,
}

/// A symbolic link: its name and target.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SymlinkNode {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub target: Vec<u8>,
}

/// Any one entry; used for the root of a stored tree.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Node {
    #[prost(oneof = "node::Node", tags = "1, 2, 3")]
    pub node: Option<node::Node>,
}

pub mod node {
    #[derive(Clone, PartialEq, Eq, prost::Oneof)]
    pub enum Node {
        #[prost(message, tag = "1")]
        Directory(super::DirectoryNode),
        #[prost(message, tag = "2")]
        File(super::FileNode),
        #[prost(message, tag = "3")]
        Symlink(super::SymlinkNode),
    }
}

impl Node {
    pub fn directory(n: DirectoryNode) -> Self {
        Node {
            node: Some(node::Node::Directory(n)),
        }
    }
    pub fn file(n: FileNode) -> Self {
        Node {
            node: Some(node::Node::File(n)),
        }
    }
    pub fn symlink(n: SymlinkNode) -> Self {
        Node {
            node: Some(node::Node::Symlink(n)),
        }
    }

    /// The entry's name.
    pub fn name(&self) -> &[u8] {
        match &self.node {
            Some(node::Node::Directory(n)) => &n.name,
            Some(node::Node::File(n)) => &n.name,
            Some(node::Node::Symlink(n)) => &n.name,
            None => b"",
        }
    }
}
