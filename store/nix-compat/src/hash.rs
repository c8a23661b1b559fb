//! Hashes as Nix names, parses and prints them.
//!
//! A [`NixHash`] is an algorithm plus a digest. Nix prints digests in base16,
//! nixbase32, base64 or SRI (`sha256-<base64>`), optionally prefixed with the
//! algorithm (`sha256:<digest>`), and when parsing it tells the encodings apart by
//! length alone; [`NixHash::parse`] does the same.

use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE64, HEXLOWER_PERMISSIVE};
use sha2::Digest;
use thiserror::Error;

use crate::nixbase32;

/// The hash algorithms Nix supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlgo {
    pub const ALL: [HashAlgo; 4] = [
        HashAlgo::Md5,
        HashAlgo::Sha1,
        HashAlgo::Sha256,
        HashAlgo::Sha512,
    ];

    /// The name Nix uses (`md5`, `sha1`, `sha256`, `sha512`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgo::Md5 => 16,
            HashAlgo::Sha1 => 20,
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha512 => 64,
        }
    }

    fn base16_len(self) -> usize {
        self.digest_len() * 2
    }

    fn nixbase32_len(self) -> usize {
        nixbase32::encode_len(self.digest_len())
    }

    fn base64_len(self) -> usize {
        (4 * self.digest_len()).div_ceil(3).div_ceil(4) * 4
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgo {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, HashError> {
        HashAlgo::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| HashError::UnknownAlgo(s.to_owned()))
    }
}

/// How a digest is written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base16,
    NixBase32,
    Base64,
    /// `algo-base64`; always carries its algorithm.
    Sri,
}

/// Why a string is not a valid hash.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HashError {
    #[error("unknown hash algorithm '{0}'")]
    UnknownAlgo(String),
    #[error("hash '{0}' does not include a type")]
    MissingAlgo(String),
    #[error("hash '{hash}' should have type '{expected}', but has '{found}'")]
    AlgoMismatch {
        hash: String,
        expected: HashAlgo,
        found: HashAlgo,
    },
    #[error("hash '{hash}' has wrong length for hash type '{algo}'")]
    WrongLength { hash: String, algo: HashAlgo },
    #[error("invalid base-16 hash '{0}'")]
    InvalidBase16(String),
    #[error("invalid base-32 hash '{hash}': {source}")]
    InvalidNixBase32 {
        hash: String,
        source: nixbase32::DecodeError,
    },
    #[error("invalid base-64 hash '{0}'")]
    InvalidBase64(String),
    #[error("invalid SRI hash '{0}'")]
    InvalidSri(String),
    #[error("digest of {len} bytes does not fit hash type '{algo}'")]
    WrongDigestLength { len: usize, algo: HashAlgo },
}

/// A digest together with its algorithm. The digest length always matches.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NixHash {
    algo: HashAlgo,
    digest: Box<[u8]>,
}

impl NixHash {
    /// Wrap a raw digest; fails if its length does not match `algo`.
    pub fn from_digest(algo: HashAlgo, digest: &[u8]) -> Result<Self, HashError> {
        if digest.len() != algo.digest_len() {
            return Err(HashError::WrongDigestLength {
                len: digest.len(),
                algo,
            });
        }
        Ok(NixHash {
            algo,
            digest: digest.into(),
        })
    }

    /// A sha256 hash from its 32 bytes (cannot fail).
    pub fn sha256(digest: [u8; 32]) -> Self {
        NixHash {
            algo: HashAlgo::Sha256,
            digest: Box::new(digest),
        }
    }

    /// Hash `data` with `algo`.
    pub fn digest(algo: HashAlgo, data: impl AsRef<[u8]>) -> Self {
        let mut h = Hasher::new(algo);
        h.update(data.as_ref());
        h.finalize()
    }

    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    pub fn digest_bytes(&self) -> &[u8] {
        &self.digest
    }

    /// Parse a hash that carries its algorithm: `algo:digest` (any encoding) or SRI.
    pub fn parse_prefixed(s: &str) -> Result<Self, HashError> {
        Self::parse(s, None)
    }

    /// Parse a hash the way Nix's `Hash::parseAny` does: the algorithm comes from an
    /// `algo:` or SRI `algo-` prefix, or from `algo` when there is no prefix; if both
    /// are present they must agree. The encoding is told apart by length.
    pub fn parse(s: &str, algo: Option<HashAlgo>) -> Result<Self, HashError> {
        let (prefix_algo, rest, sri) = split_prefix(s)?;
        let algo = match (prefix_algo, algo) {
            (Some(found), Some(expected)) if found != expected => {
                return Err(HashError::AlgoMismatch {
                    hash: s.to_owned(),
                    expected,
                    found,
                })
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Err(HashError::MissingAlgo(s.to_owned())),
        };
        if sri {
            Self::decode_base64(s, rest, algo, true)
        } else {
            Self::parse_unprefixed(rest, algo)
        }
    }

    /// Parse an SRI hash (`sha256-<base64>`) strictly.
    pub fn parse_sri(s: &str) -> Result<Self, HashError> {
        match s.split_once('-') {
            Some((a, rest)) => {
                let algo: HashAlgo = a.parse()?;
                Self::decode_base64(s, rest, algo, true)
            }
            None => Err(HashError::InvalidSri(s.to_owned())),
        }
    }

    /// Parse a bare digest of a known algorithm, telling base16, nixbase32 and base64
    /// apart by length.
    pub fn parse_unprefixed(s: &str, algo: HashAlgo) -> Result<Self, HashError> {
        let len = s.len();
        if len == algo.base16_len() {
            let d = HEXLOWER_PERMISSIVE
                .decode(s.as_bytes())
                .map_err(|_| HashError::InvalidBase16(s.to_owned()))?;
            Self::from_digest(algo, &d)
        } else if len == algo.nixbase32_len() {
            let d = nixbase32::decode(s).map_err(|source| HashError::InvalidNixBase32 {
                hash: s.to_owned(),
                source,
            })?;
            Self::from_digest(algo, &d)
        } else if len == algo.base64_len() {
            Self::decode_base64(s, s, algo, false)
        } else {
            Err(HashError::WrongLength {
                hash: s.to_owned(),
                algo,
            })
        }
    }

    fn decode_base64(whole: &str, b64: &str, algo: HashAlgo, sri: bool) -> Result<Self, HashError> {
        let err = || {
            if sri {
                HashError::InvalidSri(whole.to_owned())
            } else {
                HashError::InvalidBase64(whole.to_owned())
            }
        };
        let d = BASE64.decode(b64.as_bytes()).map_err(|_| err())?;
        if d.len() != algo.digest_len() {
            return Err(if sri {
                err()
            } else {
                HashError::WrongLength {
                    hash: whole.to_owned(),
                    algo,
                }
            });
        }
        Self::from_digest(algo, &d)
    }

    pub fn to_base16(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.digest)
    }

    pub fn to_nixbase32(&self) -> String {
        nixbase32::encode(&self.digest)
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.digest)
    }

    pub fn to_sri(&self) -> String {
        format!("{}-{}", self.algo, self.to_base64())
    }

    /// Print in `encoding`; with `prefixed`, non-SRI encodings get `algo:` in front.
    pub fn encode(&self, encoding: Encoding, prefixed: bool) -> String {
        let body = match encoding {
            Encoding::Base16 => self.to_base16(),
            Encoding::NixBase32 => self.to_nixbase32(),
            Encoding::Base64 => self.to_base64(),
            Encoding::Sri => return self.to_sri(),
        };
        if prefixed {
            format!("{}:{}", self.algo, body)
        } else {
            body
        }
    }
}

/// Split off an `algo:` or SRI `algo-` prefix. Returns (algo, rest, is_sri).
fn split_prefix(s: &str) -> Result<(Option<HashAlgo>, &str, bool), HashError> {
    if let Some((a, rest)) = s.split_once(':') {
        return Ok((Some(a.parse()?), rest, false));
    }
    if let Some((a, rest)) = s.split_once('-') {
        return Ok((Some(a.parse()?), rest, true));
    }
    Ok((None, s, false))
}

/// Displays as Nix does by default: `algo:nixbase32`.
impl fmt::Display for NixHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algo, self.to_nixbase32())
    }
}

impl fmt::Debug for NixHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NixHash({}:{})", self.algo, self.to_base16())
    }
}

impl FromStr for NixHash {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, HashError> {
        Self::parse_prefixed(s)
    }
}

/// An incremental hasher for any [`HashAlgo`]; also an `io::Write` sink.
#[derive(Clone)]
pub enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(algo: HashAlgo) -> Self {
        match algo {
            HashAlgo::Md5 => Hasher::Md5(md5::Md5::new()),
            HashAlgo::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlgo::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finalize(self) -> NixHash {
        let (algo, digest): (HashAlgo, Box<[u8]>) = match self {
            Hasher::Md5(h) => (HashAlgo::Md5, h.finalize().as_slice().into()),
            Hasher::Sha1(h) => (HashAlgo::Sha1, h.finalize().as_slice().into()),
            Hasher::Sha256(h) => (HashAlgo::Sha256, h.finalize().as_slice().into()),
            Hasher::Sha512(h) => (HashAlgo::Sha512, h.finalize().as_slice().into()),
        };
        NixHash { algo, digest }
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// sha256 of `data` as raw bytes; the common case inside store path computations.
pub fn sha256(data: impl AsRef<[u8]>) -> [u8; 32] {
    sha2::Sha256::digest(data.as_ref()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // `echo -n abc | nix-hash --flat --type sha256 /dev/stdin` style vectors.
    const ABC_SHA256_HEX: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn digests_match_known_vectors() {
        assert_eq!(
            NixHash::digest(HashAlgo::Sha256, "abc").to_base16(),
            ABC_SHA256_HEX
        );
        assert_eq!(
            NixHash::digest(HashAlgo::Md5, "abc").to_base16(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            NixHash::digest(HashAlgo::Sha1, "abc").to_base16(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert!(NixHash::digest(HashAlgo::Sha512, "abc")
            .to_base16()
            .starts_with("ddaf35a193617aba"));
    }

    #[test]
    fn every_encoding_round_trips_by_length() {
        for algo in HashAlgo::ALL {
            let h = NixHash::digest(algo, "hello");
            for enc in [Encoding::Base16, Encoding::NixBase32, Encoding::Base64] {
                let bare = h.encode(enc, false);
                assert_eq!(
                    NixHash::parse_unprefixed(&bare, algo).unwrap(),
                    h,
                    "{enc:?}"
                );
                assert_eq!(NixHash::parse(&bare, Some(algo)).unwrap(), h);
                let pre = h.encode(enc, true);
                assert_eq!(NixHash::parse_prefixed(&pre).unwrap(), h, "{pre}");
            }
            assert_eq!(NixHash::parse_sri(&h.to_sri()).unwrap(), h);
            assert_eq!(h.to_sri().parse::<NixHash>().unwrap(), h);
        }
    }

    #[test]
    fn sri_and_display() {
        let h = NixHash::digest(HashAlgo::Sha256, "abc");
        assert_eq!(
            h.to_sri(),
            "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(h.to_string(), format!("sha256:{}", h.to_nixbase32()));
        assert_eq!(
            h.encode(Encoding::Base16, true),
            format!("sha256:{ABC_SHA256_HEX}")
        );
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let h =
            NixHash::parse_unprefixed(&ABC_SHA256_HEX.to_uppercase(), HashAlgo::Sha256).unwrap();
        assert_eq!(h.to_base16(), ABC_SHA256_HEX);
    }

    #[test]
    fn errors_are_typed() {
        assert!(matches!(
            NixHash::parse_prefixed("blake9:abcd"),
            Err(HashError::UnknownAlgo(_))
        ));
        assert!(matches!(
            NixHash::parse(ABC_SHA256_HEX, None),
            Err(HashError::MissingAlgo(_))
        ));
        assert!(matches!(
            NixHash::parse(&format!("sha256:{ABC_SHA256_HEX}"), Some(HashAlgo::Sha1)),
            Err(HashError::AlgoMismatch { .. })
        ));
        assert!(matches!(
            NixHash::parse_unprefixed("abcd", HashAlgo::Sha256),
            Err(HashError::WrongLength { .. })
        ));
        let bad_hex = format!("{}g", &ABC_SHA256_HEX[1..]);
        assert!(matches!(
            NixHash::parse_unprefixed(&bad_hex, HashAlgo::Sha256),
            Err(HashError::InvalidBase16(_))
        ));
        let bad32 = "e".repeat(52);
        assert!(matches!(
            NixHash::parse_unprefixed(&bad32, HashAlgo::Sha256),
            Err(HashError::InvalidNixBase32 { .. })
        ));
        // SRI whose payload is a sha1-sized digest.
        let sha1 = NixHash::digest(HashAlgo::Sha1, "x");
        assert!(matches!(
            NixHash::parse_sri(&format!("sha256-{}", sha1.to_base64())),
            Err(HashError::InvalidSri(_))
        ));
        assert!(NixHash::from_digest(HashAlgo::Md5, &[0; 3]).is_err());
    }
}
