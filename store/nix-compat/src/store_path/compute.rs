//! Computing store paths the way C++ Nix does (`makeStorePath` and friends).
//!
//! Every store path is `compressHash(sha256("<type>:sha256:<hex>:<storeDir>:<name>"), 20)`
//! for some type string and inner hash; the functions here build those for text
//! files (`builtins.toFile`, `.drv` files), content-addressed (fixed-output) paths,
//! and derivation outputs.

use std::collections::BTreeSet;

use thiserror::Error;

use super::{validate_name, StoreDir, StorePath, StorePathError, DIGEST_LEN};
use crate::hash::{sha256, HashAlgo, NixHash};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ComputeError {
    #[error(transparent)]
    InvalidName(#[from] StorePathError),
    #[error("only recursive sha256 content addresses may have references")]
    ReferencesNotAllowed,
    #[error("text paths must be hashed with sha256, not {0}")]
    TextNeedsSha256(HashAlgo),
}

/// How file contents were turned into the hash of a content-addressed path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileIngestionMethod {
    /// The hash of the file's bytes (`nix-store --add-fixed`).
    Flat,
    /// The hash of the path's NAR (`--recursive`, and every `nix-store --add`).
    Recursive,
}

/// Fold a hash into `N` bytes by XOR, as Nix's `compressHash` does.
pub fn compress_hash<const N: usize>(input: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in input.iter().enumerate() {
        out[i % N] ^= b;
    }
    out
}

/// `makeStorePath`: the path for a type string, an inner hash and a name.
pub fn make_store_path(
    dir: &StoreDir,
    ty: &str,
    hash: &NixHash,
    name: &str,
) -> Result<StorePath, ComputeError> {
    validate_name(name.as_bytes())?;
    let fingerprint = format!(
        "{ty}:{}:{}:{}:{name}",
        hash.algo(),
        hash.to_base16(),
        dir.as_str()
    );
    let digest: [u8; DIGEST_LEN] = compress_hash(&sha256(fingerprint));
    Ok(StorePath::from_parts(digest, name)?)
}

/// `makeType`: a type string followed by the sorted references and `self`.
pub fn make_type<'a>(
    dir: &StoreDir,
    ty: &str,
    references: impl IntoIterator<Item = &'a StorePath>,
    self_reference: bool,
) -> String {
    let refs: BTreeSet<&StorePath> = references.into_iter().collect();
    let mut s = ty.to_owned();
    for r in refs {
        s.push(':');
        s.push_str(&dir.display(r));
    }
    if self_reference {
        s.push_str(":self");
    }
    s
}

/// A text file with the given contents (`builtins.toFile`, `.drv` files).
pub fn make_text_path<'a>(
    dir: &StoreDir,
    name: &str,
    contents: &[u8],
    references: impl IntoIterator<Item = &'a StorePath>,
) -> Result<StorePath, ComputeError> {
    make_text_path_from_hash(dir, name, &NixHash::sha256(sha256(contents)), references)
}

/// A text path whose contents' sha256 is already known.
pub fn make_text_path_from_hash<'a>(
    dir: &StoreDir,
    name: &str,
    hash: &NixHash,
    references: impl IntoIterator<Item = &'a StorePath>,
) -> Result<StorePath, ComputeError> {
    if hash.algo() != HashAlgo::Sha256 {
        return Err(ComputeError::TextNeedsSha256(hash.algo()));
    }
    make_store_path(dir, &make_type(dir, "text", references, false), hash, name)
}

/// `makeFixedOutputPath`: a content-addressed path. Recursive sha256 paths are
/// "source" paths and may have references; all others are "fixed:out" paths
/// and may not.
pub fn make_fixed_output_path<'a>(
    dir: &StoreDir,
    name: &str,
    method: FileIngestionMethod,
    hash: &NixHash,
    references: impl IntoIterator<Item = &'a StorePath>,
    self_reference: bool,
) -> Result<StorePath, ComputeError> {
    if method == FileIngestionMethod::Recursive && hash.algo() == HashAlgo::Sha256 {
        let ty = make_type(dir, "source", references, self_reference);
        return make_store_path(dir, &ty, hash, name);
    }
    if references.into_iter().next().is_some() || self_reference {
        return Err(ComputeError::ReferencesNotAllowed);
    }
    let inner = NixHash::sha256(sha256(fixed_output_fingerprint(method, hash, None)));
    make_store_path(dir, "output:out", &inner, name)
}

/// `fixed:out:[r:]<algo>:<hex>:<path>`: what a fixed-output derivation's hash and
/// its output path are made of. `path` is empty when computing the path itself.
pub(crate) fn fixed_output_fingerprint(
    method: FileIngestionMethod,
    hash: &NixHash,
    path: Option<&str>,
) -> String {
    let r = match method {
        FileIngestionMethod::Flat => "",
        FileIngestionMethod::Recursive => "r:",
    };
    format!(
        "fixed:out:{r}{}:{}:{}",
        hash.algo(),
        hash.to_base16(),
        path.unwrap_or("")
    )
}

/// The name of a derivation output's path: `name` for `out`, else `name-output`.
pub fn output_path_name(drv_name: &str, output_name: &str) -> String {
    if output_name == "out" {
        drv_name.to_owned()
    } else {
        format!("{drv_name}-{output_name}")
    }
}

/// `makeOutputPath`: the path of an input-addressed derivation's output, from the
/// derivation's `hashDerivationModulo`.
pub fn make_output_path(
    dir: &StoreDir,
    output_name: &str,
    drv_hash: &NixHash,
    drv_name: &str,
) -> Result<StorePath, ComputeError> {
    make_store_path(
        dir,
        &format!("output:{output_name}"),
        drv_hash,
        &output_path_name(drv_name, output_name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_hash_folds_by_xor() {
        let input: Vec<u8> = (0..32).collect();
        let out: [u8; 20] = compress_hash(&input);
        assert_eq!(out[0], 20);
        assert_eq!(out[11], 11 ^ 31);
        assert_eq!(out[12], 12);
    }

    #[test]
    fn to_file_matches_nix() {
        // nix-instantiate --eval -E 'builtins.toFile "foo" "bar"'
        let p = make_text_path(&StoreDir::default(), "foo", b"bar", []).unwrap();
        assert_eq!(
            StoreDir::default().display(&p),
            "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo"
        );
    }

    #[test]
    fn references_only_for_recursive_sha256() {
        let dir = StoreDir::default();
        let r = make_text_path(&dir, "dep", b"x", []).unwrap();
        let h = NixHash::digest(HashAlgo::Sha256, "x");
        assert!(
            make_fixed_output_path(&dir, "a", FileIngestionMethod::Recursive, &h, [&r], false)
                .is_ok()
        );
        assert_eq!(
            make_fixed_output_path(&dir, "a", FileIngestionMethod::Flat, &h, [&r], false),
            Err(ComputeError::ReferencesNotAllowed)
        );
        let h1 = NixHash::digest(HashAlgo::Sha1, "x");
        assert!(make_text_path_from_hash(&dir, "a", &h1, []).is_err());
    }

    #[test]
    fn reference_order_does_not_matter() {
        let dir = StoreDir::default();
        let a = make_text_path(&dir, "a", b"1", []).unwrap();
        let b = make_text_path(&dir, "b", b"2", []).unwrap();
        assert_eq!(
            make_text_path(&dir, "t", b"", [&a, &b]).unwrap(),
            make_text_path(&dir, "t", b"", [&b, &a, &b]).unwrap()
        );
        assert_ne!(
            make_text_path(&dir, "t", b"", [&a]).unwrap(),
            make_text_path(&dir, "t", b"", []).unwrap()
        );
    }
}
