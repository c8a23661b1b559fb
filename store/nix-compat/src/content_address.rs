//! Content addresses (`CA:` in narinfo, `ca` in path info): how a
//! content-addressed store path was derived from its contents.
//!
//! Printed as Nix prints them: `text:sha256:<nixbase32>` or
//! `fixed:[r:]<algo>:<nixbase32>`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::hash::{HashError, NixHash};
use crate::store_path::compute::{self, ComputeError, FileIngestionMethod};
use crate::store_path::{StoreDir, StorePath};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContentAddressError {
    #[error("content address '{0}' is neither 'text:' nor 'fixed:'")]
    UnknownKind(String),
    #[error("invalid hash in content address: {0}")]
    Hash(#[from] HashError),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContentAddress {
    /// A text file such as `builtins.toFile` or a `.drv`; the hash is sha256 of the bytes.
    Text(NixHash),
    /// A fixed-output path, flat or recursive (NAR) hash.
    Fixed {
        method: FileIngestionMethod,
        hash: NixHash,
    },
}

impl ContentAddress {
    pub fn hash(&self) -> &NixHash {
        match self {
            ContentAddress::Text(h) | ContentAddress::Fixed { hash: h, .. } => h,
        }
    }

    /// The store path this content address gives `name` with these references.
    pub fn store_path<'a>(
        &self,
        dir: &StoreDir,
        name: &str,
        references: impl IntoIterator<Item = &'a StorePath>,
        self_reference: bool,
    ) -> Result<StorePath, ComputeError> {
        match self {
            ContentAddress::Text(h) => {
                if self_reference {
                    return Err(ComputeError::ReferencesNotAllowed);
                }
                compute::make_text_path_from_hash(dir, name, h, references)
            }
            ContentAddress::Fixed { method, hash } => compute::make_fixed_output_path(
                dir,
                name,
                *method,
                hash,
                references,
                self_reference,
            ),
        }
    }
}

impl fmt::Display for ContentAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentAddress::Text(h) => write!(f, "text:{h}"),
            ContentAddress::Fixed { method, hash } => {
                let r = match method {
                    FileIngestionMethod::Flat => "",
                    FileIngestionMethod::Recursive => "r:",
                };
                write!(f, "fixed:{r}{hash}")
            }
        }
    }
}

impl FromStr for ContentAddress {
    type Err = ContentAddressError;
    fn from_str(s: &str) -> Result<Self, ContentAddressError> {
        if let Some(rest) = s.strip_prefix("text:") {
            let h = NixHash::parse_prefixed(rest)?;
            Ok(ContentAddress::Text(h))
        } else if let Some(rest) = s.strip_prefix("fixed:") {
            let (method, rest) = match rest.strip_prefix("r:") {
                Some(r) => (FileIngestionMethod::Recursive, r),
                None => (FileIngestionMethod::Flat, rest),
            };
            Ok(ContentAddress::Fixed {
                method,
                hash: NixHash::parse_prefixed(rest)?,
            })
        } else {
            Err(ContentAddressError::UnknownKind(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashAlgo;

    #[test]
    fn round_trips() {
        let h = NixHash::digest(HashAlgo::Sha256, "x");
        for ca in [
            ContentAddress::Text(h.clone()),
            ContentAddress::Fixed {
                method: FileIngestionMethod::Flat,
                hash: h.clone(),
            },
            ContentAddress::Fixed {
                method: FileIngestionMethod::Recursive,
                hash: h.clone(),
            },
        ] {
            let s = ca.to_string();
            assert_eq!(s.parse::<ContentAddress>().unwrap(), ca, "{s}");
        }
        assert_eq!(
            ContentAddress::Fixed {
                method: FileIngestionMethod::Recursive,
                hash: h.clone()
            }
            .to_string(),
            format!("fixed:r:sha256:{}", h.to_nixbase32())
        );
        assert!(matches!(
            "nar:x".parse::<ContentAddress>(),
            Err(ContentAddressError::UnknownKind(_))
        ));
        assert!("text:sha256:zz".parse::<ContentAddress>().is_err());
    }

    #[test]
    fn text_address_gives_to_file_path() {
        let h = NixHash::digest(HashAlgo::Sha256, "bar");
        let p = ContentAddress::Text(h)
            .store_path(&StoreDir::default(), "foo", [], false)
            .unwrap();
        assert_eq!(p.to_string(), "vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo");
    }
}
