//! The search path (`<nixpkgs>` lookups, `builtins.nixPath`) as the command line gives
//! it: `-I [PREFIX=]PATH` entries first, then those of `NIX_PATH`, relative paths taken
//! against the working directory.

use std::path::Path;

use crate::builtins::BuiltinConfig;

impl BuiltinConfig {
    /// The default configuration with the search path of `includes` and `$NIX_PATH`.
    pub fn from_search_path(includes: &[String], cwd: &Path) -> BuiltinConfig {
        let nix_path = std::env::var("NIX_PATH").unwrap_or_default();
        BuiltinConfig {
            nix_path: search_path(includes, &nix_path, cwd),
            ..Default::default()
        }
    }
}

/// `includes` then the `:`-separated entries of `nix_path`, as (prefix, path).
pub fn search_path(includes: &[String], nix_path: &str, cwd: &Path) -> Vec<(String, String)> {
    includes
        .iter()
        .map(String::as_str)
        .chain(split_nix_path(nix_path))
        .map(|entry| {
            let (prefix, path) = entry.split_once('=').unwrap_or(("", entry));
            (prefix.to_string(), absolutize(cwd, path))
        })
        .collect()
}

/// Splits `NIX_PATH` on `:`, except the `:` of a URL scheme (`https://...`, `channel:x`).
fn split_nix_path(nix_path: &str) -> impl Iterator<Item = &str> {
    const SCHEMES: [&str; 7] = ["http", "https", "file", "channel", "git", "s3", "ssh"];
    let mut entries = Vec::new();
    let mut start = 0;
    for (i, c) in nix_path.char_indices() {
        if c != ':' {
            continue;
        }
        let entry = &nix_path[start..i];
        let value = entry.split_once('=').map_or(entry, |(_, v)| v);
        if SCHEMES.contains(&value) {
            continue;
        }
        entries.push(entry);
        start = i + 1;
    }
    entries.push(&nix_path[start..]);
    entries.into_iter().filter(|e| !e.is_empty())
}

/// URLs (a channel tarball) and absolute paths stay as they are.
fn absolutize(cwd: &Path, path: &str) -> String {
    if path.starts_with('/') || path.contains("://") {
        path.to_string()
    } else {
        cwd.join(path).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_come_first_and_relative_paths_are_anchored() {
        let entries = search_path(
            &["lang/dir1".into(), "dir5=lang/dir3".into()],
            "nixpkgs=/src/nixpkgs:https://example.org/x.tar.gz:rel",
            Path::new("/work"),
        );
        let expected = [
            ("", "/work/lang/dir1"),
            ("dir5", "/work/lang/dir3"),
            ("nixpkgs", "/src/nixpkgs"),
            ("", "https://example.org/x.tar.gz"),
            ("", "/work/rel"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(p, d)| (p.to_string(), d.to_string()))
            .collect();
        assert_eq!(entries, expected);
    }
}
