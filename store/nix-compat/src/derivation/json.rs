//! The JSON that `nix show-derivation` (Nix 2.8) prints, byte for byte: keys in
//! Nix's order, two-space indentation, and strings escaped as Nix escapes them
//! (`"`, `\`, control characters), with all other bytes passed through as they
//! are, so that non-UTF-8 values print as Nix prints them.

use super::aterm::method_algo;
use super::Derivation;
use crate::store_path::{StoreDir, StorePath};

struct Writer {
    out: Vec<u8>,
    indent: usize,
}

impl Writer {
    fn string(&mut self, s: &[u8]) {
        self.out.push(b'"');
        for &c in s {
            match c {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                c if c < 0x20 => self.out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
                c => self.out.push(c),
            }
        }
        self.out.push(b'"');
    }

    fn newline(&mut self) {
        self.out.push(b'\n');
        self.out.resize(self.out.len() + 2 * self.indent, b' ');
    }

    /// A container whose items `body` writes; `item` starts each item.
    fn container(
        &mut self,
        open: u8,
        close: u8,
        count: usize,
        mut body: impl FnMut(&mut Self, usize),
    ) {
        self.out.push(open);
        if count > 0 {
            self.indent += 1;
            for i in 0..count {
                if i > 0 {
                    self.out.push(b',');
                }
                self.newline();
                body(self, i);
            }
            self.indent -= 1;
            self.newline();
        }
        self.out.push(close);
    }

    fn key(&mut self, k: &[u8]) {
        self.string(k);
        self.out.extend_from_slice(b": ");
    }

    fn string_list<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]> + Clone) {
        let v: Vec<&[u8]> = items.collect();
        self.container(b'[', b']', v.len(), |w, i| w.string(v[i]));
    }
}

impl Derivation {
    fn write_json(&self, w: &mut Writer, dir: &StoreDir) {
        let sections = 7;
        w.container(b'{', b'}', sections, |w, i| match i {
            0 => {
                w.key(b"outputs");
                let outs: Vec<_> = self.outputs.iter().collect();
                w.container(b'{', b'}', outs.len(), |w, j| {
                    let (name, o) = outs[j];
                    w.key(name.as_bytes());
                    let mut fields: Vec<(&[u8], String)> = Vec::new();
                    if let Some(p) = &o.path {
                        fields.push((b"path", dir.display(p)));
                    }
                    if let Some(ca) = &o.ca {
                        fields.push((b"hashAlgo", method_algo(ca)));
                        fields.push((b"hash", ca.hash().to_base16()));
                    }
                    w.container(b'{', b'}', fields.len(), |w, k| {
                        w.key(fields[k].0);
                        w.string(fields[k].1.as_bytes());
                    });
                });
            }
            1 => {
                w.key(b"inputSrcs");
                let srcs: Vec<String> = self.input_sources.iter().map(|p| dir.display(p)).collect();
                w.string_list(srcs.iter().map(|s| s.as_bytes()));
            }
            2 => {
                w.key(b"inputDrvs");
                let drvs: Vec<_> = self.input_derivations.iter().collect();
                w.container(b'{', b'}', drvs.len(), |w, j| {
                    let (p, outs) = drvs[j];
                    w.key(dir.display(p).as_bytes());
                    w.string_list(outs.iter().map(|s| s.as_bytes()));
                });
            }
            3 => {
                w.key(b"system");
                w.string(&self.system);
            }
            4 => {
                w.key(b"builder");
                w.string(&self.builder);
            }
            5 => {
                w.key(b"args");
                w.string_list(self.arguments.iter().map(|a| a.as_slice()));
            }
            _ => {
                w.key(b"env");
                let env: Vec<_> = self.environment.iter().collect();
                w.container(b'{', b'}', env.len(), |w, j| {
                    w.key(env[j].0);
                    w.string(env[j].1);
                });
            }
        });
    }
}

/// What `nix show-derivation` prints for these derivations (keyed by their
/// `.drv` paths), without the final newline.
pub fn show_derivations<'a>(
    dir: &StoreDir,
    drvs: impl IntoIterator<Item = (&'a StorePath, &'a Derivation)>,
) -> Vec<u8> {
    let mut drvs: Vec<_> = drvs.into_iter().collect();
    drvs.sort_by(|a, b| a.0.cmp(b.0));
    drvs.dedup_by(|a, b| a.0 == b.0);
    let mut w = Writer {
        out: Vec::new(),
        indent: 0,
    };
    w.container(b'{', b'}', drvs.len(), |w, i| {
        let (p, d) = drvs[i];
        w.key(dir.display(p).as_bytes());
        d.write_json(w, dir);
    });
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derivation::Output;

    #[test]
    fn layout_and_escaping() {
        let dir = StoreDir::default();
        let mut d = Derivation::default();
        d.outputs.insert("out".into(), Output::default());
        d.system = b"sys".to_vec();
        d.builder = b"b\x01\xff".to_vec();
        d.environment.insert(b"k".to_vec(), b"v\"\n".to_vec());
        let p: StorePath = "0k0ygnv3wdcjik884ds7qg5yxkdfjnc6-x.drv".parse().unwrap();
        let json = show_derivations(&dir, [(&p, &d)]);
        let expected = b"{\n  \"/nix/store/0k0ygnv3wdcjik884ds7qg5yxkdfjnc6-x.drv\": {\n    \"outputs\": {\n      \"out\": {}\n    },\n    \"inputSrcs\": [],\n    \"inputDrvs\": {},\n    \"system\": \"sys\",\n    \"builder\": \"b\\u0001\xff\",\n    \"args\": [],\n    \"env\": {\n      \"k\": \"v\\\"\\n\"\n    }\n  }\n}";
        assert_eq!(
            String::from_utf8_lossy(&json),
            String::from_utf8_lossy(expected)
        );
        assert_eq!(json, expected);
    }
}
