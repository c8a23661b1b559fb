//! `.narinfo` files: what a binary cache says about one store path, as
//! `Key: value` lines, and the fingerprint that its signatures sign.

use std::fmt::Write as _;

use thiserror::Error;

use crate::content_address::ContentAddress;
use crate::hash::NixHash;
use crate::signing::{Signature, SigningKey, VerifyingKey};
use crate::store_path::{StoreDir, StorePath};

/// A malformed narinfo, with the 1-based line of the problem (0: the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid narinfo at line {line}: {message}")]
pub struct NarInfoError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarInfo {
    pub store_path: StorePath,
    /// Where the (compressed) NAR is, relative to the cache.
    pub url: String,
    /// `xz`, `zstd`, `none`, ...; absent means `bzip2`.
    pub compression: Option<String>,
    pub file_hash: Option<NixHash>,
    pub file_size: Option<u64>,
    pub nar_hash: NixHash,
    pub nar_size: u64,
    pub references: Vec<StorePath>,
    pub deriver: Option<StorePath>,
    pub system: Option<String>,
    pub signatures: Vec<Signature>,
    pub ca: Option<ContentAddress>,
}

impl NarInfo {
    /// Parse the text of a `.narinfo`. Unknown keys are ignored, as Nix does.
    pub fn parse(text: &str, dir: &StoreDir) -> Result<NarInfo, NarInfoError> {
        let mut store_path = None;
        let mut url = None;
        let mut compression = None;
        let mut file_hash = None;
        let mut file_size = None;
        let mut nar_hash = None;
        let mut nar_size = None;
        let mut references = Vec::new();
        let mut deriver = None;
        let mut system = None;
        let mut signatures = Vec::new();
        let mut ca = None;

        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let err = |message: String| NarInfoError {
                line: line_no,
                message,
            };
            if line.is_empty() {
                continue;
            }
            let (key, value) = line
                .split_once(": ")
                .ok_or_else(|| err(format!("expected 'Key: value', found '{line}'")))?;
            let hash = |v: &str| NixHash::parse_prefixed(v).map_err(|e| err(e.to_string()));
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| err(format!("invalid number '{v}'")))
            };
            let base_name =
                |v: &str| StorePath::from_base_name(v.as_bytes()).map_err(|e| err(e.to_string()));
            match key {
                "StorePath" => {
                    store_path = Some(
                        dir.parse(value.as_bytes())
                            .map_err(|e| err(e.to_string()))?,
                    )
                }
                "URL" => url = Some(value.to_owned()),
                "Compression" => compression = Some(value.to_owned()),
                "FileHash" => file_hash = Some(hash(value)?),
                "FileSize" => file_size = Some(number(value)?),
                "NarHash" => nar_hash = Some(hash(value)?),
                "NarSize" => nar_size = Some(number(value)?),
                "References" => {
                    references = value
                        .split(' ')
                        .filter(|r| !r.is_empty())
                        .map(base_name)
                        .collect::<Result<_, _>>()?
                }
                "Deriver" if value == "unknown-deriver" => {}
                "Deriver" => deriver = Some(base_name(value)?),
                "System" => system = Some(value.to_owned()),
                "Sig" => signatures.push(
                    value
                        .parse()
                        .map_err(|e: crate::signing::KeyError| err(e.to_string()))?,
                ),
                "CA" => {
                    ca = Some(value.parse().map_err(
                        |e: crate::content_address::ContentAddressError| err(e.to_string()),
                    )?)
                }
                _ => {}
            }
        }
        let missing = |what: &str| NarInfoError {
            line: 0,
            message: format!("missing {what}"),
        };
        Ok(NarInfo {
            store_path: store_path.ok_or_else(|| missing("StorePath"))?,
            url: url.ok_or_else(|| missing("URL"))?,
            compression,
            file_hash,
            file_size,
            nar_hash: nar_hash.ok_or_else(|| missing("NarHash"))?,
            nar_size: nar_size.ok_or_else(|| missing("NarSize"))?,
            references,
            deriver,
            system,
            signatures,
            ca,
        })
    }

    /// The text, in the order and form Nix writes it.
    pub fn to_string(&self, dir: &StoreDir) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "StorePath: {}", dir.display(&self.store_path));
        let _ = writeln!(s, "URL: {}", self.url);
        if let Some(c) = &self.compression {
            let _ = writeln!(s, "Compression: {c}");
        }
        if let Some(h) = &self.file_hash {
            let _ = writeln!(s, "FileHash: {h}");
        }
        if let Some(n) = self.file_size {
            let _ = writeln!(s, "FileSize: {n}");
        }
        let _ = writeln!(s, "NarHash: {}", self.nar_hash);
        let _ = writeln!(s, "NarSize: {}", self.nar_size);
        let refs: Vec<String> = self.references.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(s, "References: {}", refs.join(" "));
        if let Some(d) = &self.deriver {
            let _ = writeln!(s, "Deriver: {d}");
        }
        if let Some(sys) = &self.system {
            let _ = writeln!(s, "System: {sys}");
        }
        for sig in &self.signatures {
            let _ = writeln!(s, "Sig: {sig}");
        }
        if let Some(ca) = &self.ca {
            let _ = writeln!(s, "CA: {ca}");
        }
        s
    }

    /// What a signature signs: `1;<path>;<narHash>;<narSize>;<refs,...>`.
    pub fn fingerprint(&self, dir: &StoreDir) -> String {
        fingerprint(
            dir,
            &self.store_path,
            &self.nar_hash,
            self.nar_size,
            &self.references,
        )
    }

    /// Add a signature by `key` (replacing an earlier one by the same key name).
    pub fn sign(&mut self, dir: &StoreDir, key: &SigningKey) {
        let sig = key.sign(self.fingerprint(dir).as_bytes());
        self.signatures.retain(|s| s.name != sig.name);
        self.signatures.push(sig);
    }

    /// How many of the signatures verify under one of `keys`.
    pub fn count_valid_signatures(&self, dir: &StoreDir, keys: &[VerifyingKey]) -> usize {
        let fp = self.fingerprint(dir);
        self.signatures
            .iter()
            .filter(|sig| keys.iter().any(|k| k.verify(fp.as_bytes(), sig)))
            .count()
    }
}

/// Nix's path fingerprint (`ValidPathInfo::fingerprint`). Nix's NAR hashes are
/// sha256; references are printed sorted and absolute.
pub fn fingerprint<'a>(
    dir: &StoreDir,
    path: &StorePath,
    nar_hash: &NixHash,
    nar_size: u64,
    references: impl IntoIterator<Item = &'a StorePath>,
) -> String {
    let mut refs: Vec<&StorePath> = references.into_iter().collect();
    refs.sort();
    refs.dedup();
    let refs: Vec<String> = refs.into_iter().map(|r| dir.display(r)).collect();
    format!(
        "1;{};{};{};{}",
        dir.display(path),
        nar_hash,
        nar_size,
        refs.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "StorePath: /nix/store/00bgd045z0d4icpbc2yyz4gx48ak44la-net-tools-1.60_p20170221182432
URL: nar/1094wph9z4nwlgvsd53abfz8i117ykiv5dwnq9nnhz846s7xqd7d.nar.xz
Compression: xz
FileHash: sha256:1094wph9z4nwlgvsd53abfz8i117ykiv5dwnq9nnhz846s7xqd7d
FileSize: 114980
NarHash: sha256:0lxjvvpr59c2mdram7ympy5ay741f180kv3349hvfc3f8nrmbqf6
NarSize: 464152
References: 7gx4kiv5m0i7d7qkixq2cwzbr10lvxwc-glibc-2.27
Deriver: 10dx1q4ivjb115y3h90mipaaz533nr0d-net-tools-1.60_p20170221182432.drv
Sig: cache.nixos.org-1:sn5s/RrqEI+YG6/PjwdbPjcAC7rcta7sJU4mFOawGvJBLsWkyLtBrT2EuFt/LJjWkTZ+ZWOI9NTtjo/woMdvAg==
";

    #[test]
    fn parse_print_round_trip() {
        let dir = StoreDir::default();
        let info = NarInfo::parse(SAMPLE, &dir).unwrap();
        assert_eq!(info.nar_size, 464152);
        assert_eq!(info.references.len(), 1);
        assert_eq!(info.to_string(&dir), SAMPLE);
    }

    #[test]
    fn real_cache_signature_verifies() {
        let dir = StoreDir::default();
        let info = NarInfo::parse(SAMPLE, &dir).unwrap();
        let key: VerifyingKey = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="
            .parse()
            .unwrap();
        assert_eq!(
            info.count_valid_signatures(&dir, std::slice::from_ref(&key)),
            1
        );
        let mut tampered = info.clone();
        tampered.nar_size += 1;
        assert_eq!(tampered.count_valid_signatures(&dir, &[key]), 0);
    }

    #[test]
    fn sign_then_verify() {
        let dir = StoreDir::default();
        let mut info = NarInfo::parse(SAMPLE, &dir).unwrap();
        let sk = SigningKey::from_seed("mine-1", [9; 32]);
        info.sign(&dir, &sk);
        info.sign(&dir, &sk);
        assert_eq!(info.signatures.len(), 2);
        assert_eq!(info.count_valid_signatures(&dir, &[sk.verifying_key()]), 1);
        let reparsed = NarInfo::parse(&info.to_string(&dir), &dir).unwrap();
        assert_eq!(reparsed, info);
    }

    #[test]
    fn errors_name_the_line() {
        let dir = StoreDir::default();
        let bad = SAMPLE.replace("NarSize: 464152", "NarSize: lots");
        assert_eq!(NarInfo::parse(&bad, &dir).unwrap_err().line, 7);
        let bad = SAMPLE.replace("URL: ", "URL ");
        assert_eq!(NarInfo::parse(&bad, &dir).unwrap_err().line, 2);
        let no_hash: String = SAMPLE
            .lines()
            .filter(|l| !l.starts_with("NarHash"))
            .map(|l| format!("{l}\n"))
            .collect();
        let e = NarInfo::parse(&no_hash, &dir).unwrap_err();
        assert!(e.message.contains("NarHash"));
        let unknown_deriver = SAMPLE.replace(
            "Deriver: 10dx1q4ivjb115y3h90mipaaz533nr0d-net-tools-1.60_p20170221182432.drv",
            "Deriver: unknown-deriver",
        );
        assert_eq!(
            NarInfo::parse(&unknown_deriver, &dir).unwrap().deriver,
            None
        );
    }
}
