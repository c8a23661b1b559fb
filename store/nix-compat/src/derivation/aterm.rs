//! The ATerm text format of `.drv` files:
//!
//! ```text
//! Derive([("out","/nix/store/…-x","","")],[("/nix/store/…-y.drv",["out"])],
//!        ["/nix/store/…-src"],"x86_64-linux","/bin/sh",["-c","…"],[("name","x")])
//! ```
//!
//! Strings escape `"`, `\`, newline, carriage return and tab with a backslash;
//! every other byte is written as is. The writer produces exactly what C++ Nix
//! writes; the parser accepts exactly that grammar and reports the byte offset of
//! anything else.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use super::{Derivation, Output};
use crate::content_address::ContentAddress;
use crate::hash::{HashAlgo, NixHash};
use crate::store_path::compute::FileIngestionMethod;
use crate::store_path::{StoreDir, StorePath};

/// A `.drv` that does not parse, with the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid derivation at byte {offset}: {message}")]
pub struct AtermError {
    pub offset: usize,
    pub message: String,
}

/// Append `s` as a quoted, escaped ATerm string.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn write_list<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut f: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f(out, item);
    }
    out.push(b']');
}

/// `printMethodAlgo`: `sha256`, `r:sha256` or `text:sha256`.
pub(crate) fn method_algo(ca: &ContentAddress) -> String {
    match ca {
        ContentAddress::Text(h) => format!("text:{}", h.algo()),
        ContentAddress::Fixed {
            method: FileIngestionMethod::Flat,
            hash,
        } => hash.algo().to_string(),
        ContentAddress::Fixed {
            method: FileIngestionMethod::Recursive,
            hash,
        } => format!("r:{}", hash.algo()),
    }
}

impl Derivation {
    /// The `.drv` file contents.
    pub fn to_aterm(&self, dir: &StoreDir) -> Vec<u8> {
        let inputs: Vec<(Vec<u8>, &BTreeSet<String>)> = self
            .input_derivations
            .iter()
            .map(|(p, outs)| (dir.display(p).into_bytes(), outs))
            .collect();
        self.write_aterm(dir, false, &inputs)
    }

    /// The ATerm with input derivations given as (key, outputs) pairs: their paths
    /// normally, their modulo hashes inside `hashDerivationModulo`. With
    /// `mask_outputs`, output paths are written empty.
    pub(crate) fn write_aterm<K: AsRef<[u8]>>(
        &self,
        dir: &StoreDir,
        mask_outputs: bool,
        inputs: &[(K, &BTreeSet<String>)],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"Derive(");
        write_list(&mut out, &self.outputs, |out, (name, o)| {
            out.push(b'(');
            write_string(out, name.as_bytes());
            out.push(b',');
            let path = match (&o.path, mask_outputs) {
                (Some(p), false) => dir.display(p),
                _ => String::new(),
            };
            write_string(out, path.as_bytes());
            out.push(b',');
            let (algo, hash) = match &o.ca {
                Some(ca) => (method_algo(ca), ca.hash().to_base16()),
                None => (String::new(), String::new()),
            };
            write_string(out, algo.as_bytes());
            out.push(b',');
            write_string(out, hash.as_bytes());
            out.push(b')');
        });
        out.push(b',');
        write_list(&mut out, inputs, |out, (key, outs)| {
            out.push(b'(');
            write_string(out, key.as_ref());
            out.push(b',');
            write_list(out, outs.iter(), |out, o| write_string(out, o.as_bytes()));
            out.push(b')');
        });
        out.push(b',');
        write_list(&mut out, &self.input_sources, |out, p| {
            write_string(out, dir.display(p).as_bytes())
        });
        out.push(b',');
        write_string(&mut out, &self.system);
        out.push(b',');
        write_string(&mut out, &self.builder);
        out.push(b',');
        write_list(&mut out, &self.arguments, |out, a| write_string(out, a));
        out.push(b',');
        write_list(&mut out, &self.environment, |out, (k, v)| {
            out.push(b'(');
            write_string(out, k);
            out.push(b',');
            write_string(out, v);
            out.push(b')');
        });
        out.push(b')');
        out
    }

    /// Parse a `.drv` file. Store paths in it must be in `dir`.
    pub fn from_aterm(input: &[u8], dir: &StoreDir) -> Result<Derivation, AtermError> {
        let mut p = Parser { input, pos: 0, dir };
        let drv = p.derivation()?;
        if p.pos != input.len() {
            return Err(p.err("trailing data after the derivation"));
        }
        Ok(drv)
    }
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    dir: &'a StoreDir,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> AtermError {
        AtermError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn expect(&mut self, lit: &[u8]) -> Result<(), AtermError> {
        if self.input[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.err(format!("expected '{}'", String::from_utf8_lossy(lit))))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn string(&mut self) -> Result<Vec<u8>, AtermError> {
        self.expect(b"\"")?;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
    }

    fn utf8_string(&mut self, what: &str) -> Result<String, AtermError> {
        let start = self.pos;
        let s = self.string()?;
        String::from_utf8(s).map_err(|_| AtermError {
            offset: start,
            message: format!("{what} is not valid UTF-8"),
        })
    }

    fn path(&mut self) -> Result<StorePath, AtermError> {
        let start = self.pos;
        let s = self.string()?;
        self.dir.parse(&s).map_err(|e| AtermError {
            offset: start,
            message: e.to_string(),
        })
    }

    /// `[` item (`,` item)* `]`
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, AtermError>,
    ) -> Result<Vec<T>, AtermError> {
        self.expect(b"[")?;
        let mut out = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn output(&mut self) -> Result<(String, Output), AtermError> {
        self.expect(b"(")?;
        let name = self.utf8_string("output name")?;
        self.expect(b",")?;
        let path_start = self.pos;
        let path = self.string()?;
        self.expect(b",")?;
        let algo_start = self.pos;
        let algo = self.utf8_string("hash algorithm")?;
        self.expect(b",")?;
        let hash_start = self.pos;
        let hash = self.utf8_string("hash")?;
        self.expect(b")")?;
        let path = if path.is_empty() {
            None
        } else {
            Some(self.dir.parse(&path).map_err(|e| AtermError {
                offset: path_start,
                message: e.to_string(),
            })?)
        };
        let ca = match (algo.as_str(), hash.as_str()) {
            ("", "") => None,
            ("", _) => {
                return Err(AtermError {
                    offset: hash_start,
                    message: "output has a hash but no hash algorithm".into(),
                })
            }
            (_, "") => {
                return Err(AtermError {
                    offset: hash_start,
                    message: "floating content-addressed outputs are not supported".into(),
                })
            }
            (method_algo, hash) => {
                // `r:` marks a NAR hash, `text:` a text hash; none, a flat one.
                let (method, algo_name) = match method_algo.split_once(':') {
                    Some(("r", a)) => (Some(FileIngestionMethod::Recursive), a),
                    Some(("text", a)) => (None, a),
                    _ => (Some(FileIngestionMethod::Flat), method_algo),
                };
                let algo: HashAlgo =
                    algo_name
                        .parse()
                        .map_err(|e: crate::hash::HashError| AtermError {
                            offset: algo_start,
                            message: e.to_string(),
                        })?;
                let hash = NixHash::parse_unprefixed(hash, algo).map_err(|e| AtermError {
                    offset: hash_start,
                    message: e.to_string(),
                })?;
                Some(match method {
                    Some(method) => ContentAddress::Fixed { method, hash },
                    None => ContentAddress::Text(hash),
                })
            }
        };
        Ok((name, Output { path, ca }))
    }

    fn derivation(&mut self) -> Result<Derivation, AtermError> {
        self.expect(b"Derive(")?;
        let mut outputs = BTreeMap::new();
        let list_start = self.pos;
        for (name, o) in self.list(Self::output)? {
            if outputs.insert(name.clone(), o).is_some() {
                return Err(AtermError {
                    offset: list_start,
                    message: format!("duplicate output '{name}'"),
                });
            }
        }
        self.expect(b",")?;
        let mut input_derivations = BTreeMap::new();
        for (p, outs) in self.list(|p| {
            p.expect(b"(")?;
            let path = p.path()?;
            p.expect(b",")?;
            let outs = p.list(|p| p.utf8_string("output name"))?;
            p.expect(b")")?;
            Ok((path, outs))
        })? {
            input_derivations
                .entry(p)
                .or_insert_with(BTreeSet::new)
                .extend(outs);
        }
        self.expect(b",")?;
        let input_sources = self.list(Self::path)?.into_iter().collect();
        self.expect(b",")?;
        let system = self.string()?;
        self.expect(b",")?;
        let builder = self.string()?;
        self.expect(b",")?;
        let arguments = self.list(Self::string)?;
        self.expect(b",")?;
        let environment = self
            .list(|p| {
                p.expect(b"(")?;
                let k = p.string()?;
                p.expect(b",")?;
                let v = p.string()?;
                p.expect(b")")?;
                Ok((k, v))
            })?
            .into_iter()
            .collect();
        self.expect(b")")?;
        Ok(Derivation {
            outputs,
            input_derivations,
            input_sources,
            system,
            builder,
            arguments,
            environment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRV: &str = r#"Derive([("out","/nix/store/hx8c1k6k3ardkssfp806i93338qh08ys-t","","")],[("/nix/store/0k0ygnv3wdcjik884ds7qg5yxkdfjnc6-dep.drv",["dev"])],[],"x86_64-linux","/bin/sh",["-c","echo \"hi\"\n\t\\"],[("__json","{\"builder\":\"/bin/sh\",\"name\":\"t\"}"),("out","/nix/store/hx8c1k6k3ardkssfp806i93338qh08ys-t")])"#;

    #[test]
    fn round_trips_and_unescapes() {
        let dir = StoreDir::default();
        let drv = Derivation::from_aterm(DRV.as_bytes(), &dir).unwrap();
        assert_eq!(drv.arguments[1], b"echo \"hi\"\n\t\\");
        assert_eq!(drv.name_from_env().unwrap(), "t");
        assert_eq!(drv.to_aterm(&dir), DRV.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_survive() {
        let dir = StoreDir::default();
        let mut drv = Derivation::default();
        drv.outputs.insert("out".into(), Output::default());
        let weird: Vec<u8> = (0u8..=255).collect();
        drv.environment.insert(weird.clone(), weird.clone());
        drv.arguments.push(b"\r\n\t\"\\".to_vec());
        let text = drv.to_aterm(&dir);
        assert_eq!(Derivation::from_aterm(&text, &dir).unwrap(), drv);
    }

    #[test]
    fn fixed_output_hash_fields() {
        let dir = StoreDir::default();
        let h = "9f7a0a1f0ccd5e1b0c7b1d1b0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
        let text = format!(
            r#"Derive([("out","/nix/store/00bgd045z0d4icpbc2yyz4gx48ak44la-f","r:sha256","{h}")],[],[],"s","b",[],[])"#
        );
        let drv = Derivation::from_aterm(text.as_bytes(), &dir).unwrap();
        let ca = drv.fixed_output().unwrap().unwrap();
        assert_eq!(method_algo(ca), "r:sha256");
        assert_eq!(ca.hash().to_base16(), h);
        assert_eq!(drv.to_aterm(&dir), text.as_bytes());
    }

    #[test]
    fn errors_have_offsets() {
        let dir = StoreDir::default();
        let e = Derivation::from_aterm(b"Derive([", &dir).unwrap_err();
        assert_eq!(e.offset, 8);
        let e = Derivation::from_aterm(b"Derivx", &dir).unwrap_err();
        assert_eq!(e.offset, 0);
        let bad_path = r#"Derive([("out","/tmp/x","","")],[],[],"s","b",[],[])"#;
        let e = Derivation::from_aterm(bad_path.as_bytes(), &dir).unwrap_err();
        assert_eq!(e.offset, 15);
        assert!(e.message.contains("not in the Nix store"), "{e}");
        let trailing = r#"Derive([],[],[],"s","b",[],[])x"#;
        assert!(Derivation::from_aterm(trailing.as_bytes(), &dir).is_err());
        let unterminated = r#"Derive([],[],[],"s"#;
        assert!(Derivation::from_aterm(unterminated.as_bytes(), &dir).is_err());
        let floating = r#"Derive([("out","","r:sha256","")],[],[],"s","b",[],[])"#;
        assert!(Derivation::from_aterm(floating.as_bytes(), &dir).is_err());
        let dup = r#"Derive([("out","","",""),("out","","","")],[],[],"s","b",[],[])"#;
        assert!(Derivation::from_aterm(dup.as_bytes(), &dir).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn arb_path() -> impl Strategy<Value = StorePath> {
        (any::<[u8; 20]>(), "[a-zA-Z0-9+._?=-]{1,20}")
            .prop_map(|(d, n)| StorePath::from_parts(d, &n).unwrap())
    }

    fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..24)
    }

    fn arb_output() -> impl Strategy<Value = Output> {
        let ca = prop_oneof![
            Just(None),
            (any::<[u8; 32]>(), any::<bool>()).prop_map(|(d, r)| Some(ContentAddress::Fixed {
                method: if r {
                    FileIngestionMethod::Recursive
                } else {
                    FileIngestionMethod::Flat
                },
                hash: NixHash::sha256(d),
            })),
            any::<[u8; 32]>().prop_map(|d| Some(ContentAddress::Text(NixHash::sha256(d)))),
        ];
        (proptest::option::of(arb_path()), ca).prop_map(|(path, ca)| Output { path, ca })
    }

    fn arb_drv() -> impl Strategy<Value = Derivation> {
        (
            proptest::collection::btree_map("[a-z]{1,6}", arb_output(), 0..4),
            proptest::collection::btree_map(
                arb_path(),
                proptest::collection::btree_set("[a-z]{1,5}", 0..3),
                0..3,
            ),
            proptest::collection::btree_set(arb_path(), 0..3),
            arb_bytes(),
            arb_bytes(),
            proptest::collection::vec(arb_bytes(), 0..4),
            proptest::collection::btree_map(arb_bytes(), arb_bytes(), 0..5),
        )
            .prop_map(
                |(
                    outputs,
                    input_derivations,
                    input_sources,
                    system,
                    builder,
                    arguments,
                    environment,
                )| {
                    Derivation {
                        outputs,
                        input_derivations,
                        input_sources,
                        system,
                        builder,
                        arguments,
                        environment,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn print_parse_round_trip(drv in arb_drv()) {
            let dir = StoreDir::default();
            let text = drv.to_aterm(&dir);
            let back = Derivation::from_aterm(&text, &dir).unwrap();
            prop_assert_eq!(&back, &drv);
            prop_assert_eq!(back.to_aterm(&dir), text);
        }

        #[test]
        fn mangled_input_never_panics(drv in arb_drv(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
            let dir = StoreDir::default();
            let mut text = drv.to_aterm(&dir);
            let i = at.index(text.len());
            text[i] = byte;
            let _ = Derivation::from_aterm(&text, &dir);
            let _ = Derivation::from_aterm(&text[..cut.index(text.len())], &dir);
        }
    }
}
