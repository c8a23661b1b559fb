//! Every `.drv` that `nix-instantiate` writes for a varied set of derivations
//! parses and prints back byte-identical; its drvPath and output paths recompute
//! identically; and our JSON equals `nix show-derivation`'s.
//!
//! Input derivations are resolved by reading their `.drv` files from the store
//! here in the test: the crate itself does no I/O.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use nix_compat::derivation::json::show_derivations;
use nix_compat::derivation::{Derivation, DrvHash};
use nix_compat::store_path::{StoreDir, StorePath};

/// The cases, one attribute each; `nix-instantiate` writes all of them.
const CASES: &str = r#"
let
  sh = "/bin/sh";
  mk = attrs: derivation ({ system = "x86_64-linux"; builder = sh; } // attrs);

  simple = mk { name = "simple"; args = [ "-c" "echo hi > $out" ]; };

  multi = mk {
    name = "multi-1.0";
    outputs = [ "out" "dev" "doc" "lib" ];
    args = [ "-c" "mkdir $out $dev $doc $lib" ];
  };

  usesMulti = mk {
    name = "uses-multi";
    dev = multi.dev;
    doc = "${multi.doc}/share";
    both = "${multi}:${simple}";
  };

  fodFlat = mk {
    name = "fod-flat.tar.gz";
    outputHashAlgo = "sha256";
    outputHash = "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73";
  };
  # Same output as fodFlat, made differently: the same modulo hash.
  fodFlatOther = mk {
    name = "fod-flat.tar.gz";
    builder = "/bin/bash";
    outputHashAlgo = "sha256";
    outputHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    extra = "different recipe";
  };
  fodRecursive = mk {
    name = "fod-rec";
    outputHashMode = "recursive";
    outputHash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  };
  fodSha1 = mk {
    name = "fod-sha1";
    outputHashAlgo = "sha1";
    outputHash = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
  };
  fodSha512Rec = mk {
    name = "fod-sha512";
    outputHashMode = "recursive";
    outputHashAlgo = "sha512";
    outputHash = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
  };
  fodMd5 = mk {
    name = "fod-md5";
    outputHashAlgo = "md5";
    outputHash = "d41d8cd98f00b204e9800998ecf8427e";
  };

  usesFods = mk {
    name = "uses-fods";
    a = fodFlat; b = fodFlatOther; c = fodRecursive; d = fodSha1; e = fodSha512Rec; f = fodMd5;
  };

  structured = mk {
    name = "structured";
    __structuredAttrs = true;
    outputs = [ "out" "bin" ];
    nested = { a = 1; b = [ true null 1.5 "s" ]; c.d = "e"; };
    dep = simple;
    devDep = "${multi.dev}";
    text = "quote \" backslash \\ newline \n tab \t ünïcödé ☃";
  };

  placeholders = mk {
    name = "placeholders";
    outputs = [ "out" "dev" ];
    args = [ "-c" "mkdir -p ${placeholder "out"}/bin ${placeholder "dev"}" ];
    script = "echo ${placeholder "out"} ${placeholder "doc"}";
  };

  sources = mk {
    name = "sources";
    src = ./source-file.txt;
    dir = ./source-dir;
    filtered = builtins.path { path = ./source-dir; name = "filtered"; filter = p: t: baseNameOf p != "skip"; };
    text = builtins.toFile "text-file" "contents with ${./source-file.txt}";
  };

  odd = mk {
    name = "odd-values";
    args = [ "" "\r\n" "\\\"" "ünïcödé" "tab\tend" ];
    "attr with spaces" = "v";
    "ünï" = "ödd";
    "quote\"key" = "x";
    empty = "";
    bytes = builtins.readFile ./odd-bytes.txt;
    number = 42;
    bool = true;
    null = null;
    list = [ "a" 1 "b" ];
    path = "${./source-file.txt}";
  };

  chain1 = mk { name = "chain1"; dep = usesFods; };
  chain2 = mk { name = "chain2"; dep = chain1; other = structured; p = placeholders.dev; };
  chain3 = mk { name = "chain3"; outputs = [ "out" "man" ]; dep = chain2; s = sources; o = odd; m = usesMulti; };
in {
  inherit simple multi usesMulti fodFlat fodFlatOther fodRecursive fodSha1 fodSha512Rec fodMd5
    usesFods structured placeholders sources odd chain1 chain2 chain3;
}
"#;

fn write_cases(dir: &Path) {
    fs::write(dir.join("default.nix"), CASES).unwrap();
    fs::write(dir.join("source-file.txt"), "source\n").unwrap();
    fs::create_dir_all(dir.join("source-dir/sub")).unwrap();
    fs::write(dir.join("source-dir/sub/f"), "f").unwrap();
    fs::write(dir.join("source-dir/skip"), "skipped").unwrap();
    // Bytes that are not UTF-8, and control characters (NUL cannot be in a Nix string).
    let mut odd: Vec<u8> = (1u8..=255).collect();
    odd.extend_from_slice(b"\xc3\x28 \xff\xfe");
    fs::write(dir.join("odd-bytes.txt"), odd).unwrap();
}

fn name_of_drv(p: &StorePath) -> &str {
    p.name().strip_suffix(".drv").expect("a .drv path")
}

struct Checker {
    dir: StoreDir,
    drvs: BTreeMap<StorePath, Derivation>,
    hashes: BTreeMap<StorePath, DrvHash>,
}

impl Checker {
    /// Load `path` and, first, everything it depends on; check each one.
    fn visit(&mut self, path: &StorePath) {
        if self.drvs.contains_key(path) {
            return;
        }
        let abs = self.dir.display(path);
        let bytes = fs::read(&abs).unwrap();
        let drv =
            Derivation::from_aterm(&bytes, &self.dir).unwrap_or_else(|e| panic!("{abs}: {e}"));
        assert!(
            drv.to_aterm(&self.dir) == bytes,
            "{abs}: printing back differs:\n ours:   {}\n theirs: {}",
            String::from_utf8_lossy(&drv.to_aterm(&self.dir)),
            String::from_utf8_lossy(&bytes)
        );
        for input in drv.input_derivations.keys() {
            self.visit(input);
        }
        let lookup = |p: &StorePath| self.hashes.get(p).copied();
        let name = name_of_drv(path);

        // Recompute output paths from a copy with them blanked.
        let mut recomputed = drv.clone();
        for o in recomputed.outputs.values_mut() {
            o.path = None;
        }
        for out in drv.outputs.keys() {
            recomputed.environment.remove(out.as_bytes());
        }
        recomputed
            .calculate_output_paths(&self.dir, name, lookup)
            .unwrap();
        assert_eq!(recomputed, drv, "{abs}: recomputed outputs differ");
        assert_eq!(
            &drv.drv_path(&self.dir, name).unwrap(),
            path,
            "{abs}: drv path differs"
        );
        assert_eq!(drv.name_from_env().unwrap(), name);

        let h = drv.hash_derivation_modulo(&self.dir, lookup).unwrap();
        self.hashes.insert(path.clone(), h);
        self.drvs.insert(path.clone(), drv);
    }
}

#[test]
fn derivations_match_nix_instantiate() {
    if !common::have("nix-instantiate", "derivations_match_nix_instantiate") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    write_cases(tmp.path());
    let out = common::run(Command::new("nix-instantiate").arg(tmp.path().join("default.nix")));
    let dir = StoreDir::default();
    let top: Vec<StorePath> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| dir.parse(l.trim().as_bytes()).unwrap())
        .collect();
    assert_eq!(top.len(), 17, "one .drv per case");

    let mut checker = Checker {
        dir: dir.clone(),
        drvs: BTreeMap::new(),
        hashes: BTreeMap::new(),
    };
    for p in &top {
        checker.visit(p);
    }

    // Two fixed-output derivations with the same output share one modulo hash.
    let by_name = |n: &str| -> BTreeSet<DrvHash> {
        checker
            .drvs
            .keys()
            .filter(|p| p.name() == n)
            .map(|p| checker.hashes[p])
            .collect()
    };
    assert_eq!(by_name("fod-flat.tar.gz.drv").len(), 1);
    assert_eq!(
        checker
            .drvs
            .keys()
            .filter(|p| p.name() == "fod-flat.tar.gz.drv")
            .count(),
        2
    );

    // JSON, against `nix show-derivation` where this Nix has it.
    let show = Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "show-derivation",
        ])
        .args(top.iter().map(|p| dir.display(p)))
        .output();
    match show {
        Ok(o) if o.status.success() => {
            let ours = show_derivations(&dir, top.iter().map(|p| (p, &checker.drvs[p])));
            let theirs = o.stdout.strip_suffix(b"\n").unwrap_or(&o.stdout);
            assert!(
                ours == theirs,
                "JSON differs:\n ours: {}\n theirs: {}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(theirs)
            );
        }
        _ => eprintln!("skipping the JSON comparison: `nix show-derivation` is not available"),
    }
}
