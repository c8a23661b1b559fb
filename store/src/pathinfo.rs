//! PathInfo: what the store records about one store path, and its stored
//! (protobuf) form.

use nix_compat::{ContentAddress, StorePath};
use prost::Message;
use tvix_castore::directory::validate_node;
use tvix_castore::Node;

use crate::Error;

/// Everything known about one store path. The root node's name is the store
/// path's base name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathInfo {
    pub store_path: StorePath,
    pub node: Node,
    pub references: Vec<StorePath>,
    pub nar_size: u64,
    pub nar_sha256: [u8; 32],
    /// Signatures as narinfo prints them: `keyname:base64`.
    pub signatures: Vec<String>,
    pub deriver: Option<StorePath>,
    pub ca: Option<ContentAddress>,
}

/// The stored form, also sent over gRPC (as tvix's `PathInfo` message would be,
/// in a simpler shape). Store paths are kept as base names.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PathInfoProto {
    #[prost(string, tag = "1")]
    pub store_path: String,
    #[prost(message, optional, tag = "2")]
    pub node: Option<Node>,
    #[prost(string, repeated, tag = "3")]
    pub references: Vec<String>,
    #[prost(uint64, tag = "4")]
    pub nar_size: u64,
    #[prost(bytes = "vec", tag = "5")]
    pub nar_sha256: Vec<u8>,
    #[prost(string, repeated, tag = "6")]
    pub signatures: Vec<String>,
    #[prost(string, tag = "7")]
    pub deriver: String,
    #[prost(string, tag = "8")]
    pub ca: String,
}

impl PathInfo {
    pub fn encode(&self) -> Vec<u8> {
        PathInfoProto {
            store_path: self.store_path.to_string(),
            node: Some(self.node.clone()),
            references: self.references.iter().map(|r| r.to_string()).collect(),
            nar_size: self.nar_size,
            nar_sha256: self.nar_sha256.to_vec(),
            signatures: self.signatures.clone(),
            deriver: self
                .deriver
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            ca: self.ca.as_ref().map(|c| c.to_string()).unwrap_or_default(),
        }
        .encode_to_vec()
    }

    /// Decodes and validates a stored path info; `key` names it in errors.
    pub fn decode(bytes: &[u8], key: &str) -> Result<PathInfo, Error> {
        let bad = |reason: String| Error::CorruptPathInfo {
            key: key.to_owned(),
            reason,
        };
        let p = PathInfoProto::decode(bytes).map_err(|e| bad(e.to_string()))?;
        let path = |s: &str| s.parse::<StorePath>().map_err(|e| bad(e.to_string()));
        let store_path = path(&p.store_path)?;
        let node = p.node.ok_or_else(|| bad("no root node".into()))?;
        validate_node(&node).map_err(|e| bad(e.to_string()))?;
        if node.name() != store_path.to_string().as_bytes() {
            return Err(bad("root node is not named after the store path".into()));
        }
        let nar_sha256 = p
            .nar_sha256
            .try_into()
            .map_err(|_| bad("NAR hash is not 32 bytes".into()))?;
        Ok(PathInfo {
            store_path,
            node,
            references: p
                .references
                .iter()
                .map(|r| path(r))
                .collect::<Result<_, _>>()?,
            nar_size: p.nar_size,
            nar_sha256,
            signatures: p.signatures,
            deriver: if p.deriver.is_empty() {
                None
            } else {
                Some(path(&p.deriver)?)
            },
            ca: if p.ca.is_empty() {
                None
            } else {
                Some(p.ca.parse().map_err(
                    |e: nix_compat::content_address::ContentAddressError| bad(e.to_string()),
                )?)
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix_compat::store_path::compute::FileIngestionMethod;
    use nix_compat::NixHash;
    use tvix_castore::{B3Digest, FileNode};

    fn sample() -> PathInfo {
        let sp: StorePath = "00bgd045z0d4icpbc2yyz4gx48ak44la-hello".parse().unwrap();
        PathInfo {
            node: Node::file(FileNode {
                name: sp.to_string().into_bytes(),
                digest: B3Digest::of(b"x").0.to_vec(),
                size: 1,
                executable: true,
            }),
            references: vec![sp.clone()],
            nar_size: 120,
            nar_sha256: [3; 32],
            signatures: vec!["cache.example.org-1:AAAA".into()],
            deriver: Some(
                "11bgd045z0d4icpbc2yyz4gx48ak44la-hello.drv"
                    .parse()
                    .unwrap(),
            ),
            ca: Some(ContentAddress::Fixed {
                method: FileIngestionMethod::Recursive,
                hash: NixHash::sha256([3; 32]),
            }),
            store_path: sp,
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        assert_eq!(PathInfo::decode(&p.encode(), "k").unwrap(), p);
        let mut q = sample();
        q.deriver = None;
        q.ca = None;
        assert_eq!(PathInfo::decode(&q.encode(), "k").unwrap(), q);
    }

    #[test]
    fn rejects_inconsistent() {
        let mut p = sample();
        p.node = Node::file(FileNode {
            name: b"other".to_vec(),
            digest: vec![0; 32],
            size: 0,
            executable: false,
        });
        assert!(matches!(
            PathInfo::decode(&p.encode(), "k"),
            Err(Error::CorruptPathInfo { .. })
        ));
        assert!(PathInfo::decode(b"\xff\xff\xff", "k").is_err());
    }
}
