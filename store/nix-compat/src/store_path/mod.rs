//! Store paths: `/nix/store/<32 nixbase32 chars>-<name>`.
//!
//! A [`StorePath`] is the 20-byte digest plus the name, independent of where the
//! store lives; a [`StoreDir`] turns it into an absolute path and back. How paths
//! are computed from contents, references and derivations is in [`compute`].

pub mod compute;

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::nixbase32;

/// The store directory used unless configured otherwise.
pub const DEFAULT_STORE_DIR: &str = "/nix/store";
/// Bytes in a store path digest.
pub const DIGEST_LEN: usize = 20;
/// Characters of the digest in its nixbase32 form.
pub const ENCODED_DIGEST_LEN: usize = 32;
/// Longest name C++ Nix accepts (`StorePath::MaxPathLen`).
pub const MAX_NAME_LEN: usize = 211;

/// Why a string is not a valid store path (or store directory).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StorePathError {
    #[error("store path '{0}' is too short to contain a hash and a name")]
    TooShort(String),
    #[error("store path '{path}' has an invalid hash: {source}")]
    InvalidDigest {
        path: String,
        source: nixbase32::DecodeError,
    },
    #[error("store path '{0}' lacks the '-' between hash and name")]
    MissingDash(String),
    #[error("store path name is empty")]
    EmptyName,
    #[error("store path name '{0}' is longer than {MAX_NAME_LEN} characters")]
    NameTooLong(String),
    #[error("store path name '{name}' contains illegal character {ch:?}")]
    InvalidNameChar { name: String, ch: char },
    #[error("path '{path}' is not in the Nix store '{store_dir}'")]
    NotInStore { path: String, store_dir: String },
    #[error("path '{0}' is inside a store path, not a store path itself")]
    HasSubpath(String),
    #[error("store directory '{0}' must be an absolute path without a trailing slash")]
    InvalidStoreDir(String),
}

/// Check a store path name the way C++ Nix 2.8 does.
pub fn validate_name(name: &[u8]) -> Result<&str, StorePathError> {
    let lossy = || String::from_utf8_lossy(name).into_owned();
    if name.is_empty() {
        return Err(StorePathError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(StorePathError::NameTooLong(lossy()));
    }
    for &c in name {
        let ok = c.is_ascii_alphanumeric() || b"+-._?=".contains(&c);
        if !ok {
            return Err(StorePathError::InvalidNameChar {
                name: lossy(),
                ch: c as char,
            });
        }
    }
    // All characters are ASCII, so this cannot fail.
    Ok(std::str::from_utf8(name).expect("checked ASCII"))
}

/// A store path without its store directory.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StorePath {
    digest: [u8; DIGEST_LEN],
    name: String,
}

impl StorePath {
    /// From a digest and a name (validated).
    pub fn from_parts(digest: [u8; DIGEST_LEN], name: &str) -> Result<Self, StorePathError> {
        validate_name(name.as_bytes())?;
        Ok(StorePath {
            digest,
            name: name.to_owned(),
        })
    }

    /// Parse a base name, `<hash>-<name>`.
    pub fn from_base_name(s: &[u8]) -> Result<Self, StorePathError> {
        let lossy = || String::from_utf8_lossy(s).into_owned();
        if s.len() < ENCODED_DIGEST_LEN + 2 {
            return Err(StorePathError::TooShort(lossy()));
        }
        let digest =
            nixbase32::decode_fixed::<DIGEST_LEN>(&s[..ENCODED_DIGEST_LEN]).map_err(|source| {
                StorePathError::InvalidDigest {
                    path: lossy(),
                    source,
                }
            })?;
        if s[ENCODED_DIGEST_LEN] != b'-' {
            return Err(StorePathError::MissingDash(lossy()));
        }
        let name = validate_name(&s[ENCODED_DIGEST_LEN + 1..])?;
        Ok(StorePath {
            digest,
            name: name.to_owned(),
        })
    }

    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
    }

    /// The digest in nixbase32, as it appears in the path.
    pub fn hash_part(&self) -> String {
        nixbase32::encode(&self.digest)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the name ends in `.drv`.
    pub fn is_derivation(&self) -> bool {
        self.name.ends_with(".drv")
    }
}

/// Displays the base name, `<hash>-<name>`.
impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.hash_part(), self.name)
    }
}

impl fmt::Debug for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorePath({self})")
    }
}

impl FromStr for StorePath {
    type Err = StorePathError;
    fn from_str(s: &str) -> Result<Self, StorePathError> {
        Self::from_base_name(s.as_bytes())
    }
}

/// Ordered as C++ Nix orders store paths: by the printed base name. The digest is
/// printed most significant (last) byte first in an alphabet in ASCII order, so
/// comparing the reversed digest bytes gives the same order without printing.
impl Ord for StorePath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.digest
            .iter()
            .rev()
            .cmp(other.digest.iter().rev())
            .then_with(|| self.name.cmp(&other.name))
    }
}

impl PartialOrd for StorePath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Where the store lives: an absolute path without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreDir(String);

impl Default for StoreDir {
    fn default() -> Self {
        StoreDir(DEFAULT_STORE_DIR.to_owned())
    }
}

impl StoreDir {
    pub fn new(dir: &str) -> Result<Self, StorePathError> {
        if !dir.starts_with('/') || (dir.len() > 1 && dir.ends_with('/')) || dir.contains('\0') {
            return Err(StorePathError::InvalidStoreDir(dir.to_owned()));
        }
        Ok(StoreDir(dir.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute path of `path` in this store.
    pub fn display(&self, path: &StorePath) -> String {
        format!("{}/{}", self.0, path)
    }

    /// Parse an absolute store path (exactly a store path, nothing below it).
    pub fn parse(&self, abs: &[u8]) -> Result<StorePath, StorePathError> {
        let (p, rest) = self.parse_with_subpath(abs)?;
        if !rest.is_empty() {
            return Err(StorePathError::HasSubpath(
                String::from_utf8_lossy(abs).into_owned(),
            ));
        }
        Ok(p)
    }

    /// Split an absolute path inside the store into its store path and the rest
    /// (empty, or starting with `/`), e.g. `/nix/store/…-hello/bin/hello`.
    pub fn parse_with_subpath<'a>(
        &self,
        abs: &'a [u8],
    ) -> Result<(StorePath, &'a [u8]), StorePathError> {
        let not_in_store = || StorePathError::NotInStore {
            path: String::from_utf8_lossy(abs).into_owned(),
            store_dir: self.0.clone(),
        };
        let rest = abs
            .strip_prefix(self.0.as_bytes())
            .and_then(|r| r.strip_prefix(b"/"))
            .ok_or_else(not_in_store)?;
        let end = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
        let p = StorePath::from_base_name(&rest[..end])?;
        Ok((p, &rest[end..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "/nix/store/00bgd045z0d4icpbc2yyz4gx48ak44la-net-tools-1.60_p20170221182432";

    #[test]
    fn parses_and_prints() {
        let dir = StoreDir::default();
        let p = dir.parse(P.as_bytes()).unwrap();
        assert_eq!(p.name(), "net-tools-1.60_p20170221182432");
        assert_eq!(p.hash_part(), "00bgd045z0d4icpbc2yyz4gx48ak44la");
        assert_eq!(dir.display(&p), P);
        assert_eq!(p.to_string().parse::<StorePath>().unwrap(), p);
        let with_sub = format!("{P}/bin/x");
        let (q, sub) = dir.parse_with_subpath(with_sub.as_bytes()).unwrap();
        assert_eq!((q, sub), (p, &b"/bin/x"[..]));
        let other = StoreDir::new("/gnu/store").unwrap();
        assert!(matches!(
            other.parse(P.as_bytes()),
            Err(StorePathError::NotInStore { .. })
        ));
    }

    #[test]
    fn name_rules_follow_nix_2_8() {
        for ok in ["a", ".foo", "foo+bar-1.0_x?y=z", &"a".repeat(211)] {
            assert!(validate_name(ok.as_bytes()).is_ok(), "{ok}");
        }
        assert_eq!(validate_name(b""), Err(StorePathError::EmptyName));
        assert!(matches!(
            validate_name("a".repeat(212).as_bytes()),
            Err(StorePathError::NameTooLong(_))
        ));
        for bad in ["a b", "a/b", "ü", "a:b", "a@b"] {
            assert!(
                matches!(
                    validate_name(bad.as_bytes()),
                    Err(StorePathError::InvalidNameChar { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_bad_paths() {
        let dir = StoreDir::default();
        assert!(matches!(
            dir.parse(b"/nix/store/abc"),
            Err(StorePathError::TooShort(_))
        ));
        assert!(matches!(
            dir.parse(b"/nix/store/00bgd045z0d4icpbc2yyz4gx48ak44le-x"),
            Err(StorePathError::InvalidDigest { .. })
        ));
        assert!(matches!(
            dir.parse(b"/nix/store/00bgd045z0d4icpbc2yyz4gx48ak44la_x"),
            Err(StorePathError::MissingDash(_))
        ));
        assert!(matches!(
            dir.parse(format!("{P}/sub").as_bytes()),
            Err(StorePathError::HasSubpath(_))
        ));
        assert!(StoreDir::new("relative").is_err());
        assert!(StoreDir::new("/nix/store/").is_err());
    }

    #[test]
    fn order_is_the_printed_order() {
        let mut paths: Vec<StorePath> = (0u8..50)
            .map(|i| {
                let mut d = [0u8; 20];
                d[(i % 20) as usize] = i.wrapping_mul(37);
                d[19 - (i % 7) as usize] ^= i;
                StorePath::from_parts(d, if i % 2 == 0 { "a" } else { "b" }).unwrap()
            })
            .collect();
        paths.sort();
        let printed: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let mut sorted = printed.clone();
        sorted.sort();
        assert_eq!(printed, sorted);
    }
}
