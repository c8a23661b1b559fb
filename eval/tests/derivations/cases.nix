# Derivations checked against nix-instantiate: every drvPath and outPath, and the
# bytes of every .drv written. Evaluates to an attribute set of derivations.
let
  sys = "x86_64-linux";
  mk = attrs: derivation ({ system = sys; builder = "/bin/sh"; } // attrs);

  simple = mk { name = "simple"; args = [ "-c" "echo hi > $out" ]; };

  multi = mk {
    name = "multi";
    outputs = [ "out" "dev" "doc" ];
    args = [ "-c" "touch $out $dev $doc" ];
  };

  withDeps = mk {
    name = "with-deps";
    inherit simple;
    devInput = multi.dev;
    both = "${simple} ${multi.doc}";
    buildInputs = [ simple multi ];
  };

  fodFlat = mk {
    name = "fod-flat";
    outputHash = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    outputHashAlgo = "sha256";
    outputHashMode = "flat";
  };

  fodSri = mk {
    name = "fod-sri.tar.gz";
    outputHash = "sha512-9/u6bgY2+JDlb7vzKD5STG+jIErimDgtYkdB0NxmODJuKCxBvl5CVNiCB3LFUYosWowMf37aGVlKfrU5RT4e1w==";
  };

  fodRecursive = mk {
    name = "fod-recursive";
    outputHash = "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73";
    outputHashAlgo = "sha256";
    outputHashMode = "recursive";
    urls = [ "https://example.org/a" "https://example.org/b" ];
  };

  onFod = mk {
    name = "on-fod";
    src = fodFlat;
    other = fodRecursive;
  };

  structured = mk {
    name = "structured";
    __structuredAttrs = true;
    outputs = [ "out" "lib" ];
    deps = [ simple multi.dev ];
    nested = { a = 1; b = [ true false null ]; c = "x\ny\"z"; f = 1.5; };
    script = ./src/build.sh;
    count = 42;
    empty = { };
    "ключ" = "значение ✓ tab\t";
    controls = builtins.fromJSON "\"a\\u0007b\\u0008c\\u000cd\\u001f\"";
  };

  placeholders = mk {
    name = "placeholders";
    outputs = [ "out" "bin" ];
    configureFlags = "--prefix=${placeholder "out"} --bindir=${placeholder "bin"}";
  };

  filtered = builtins.path {
    path = ./src;
    name = "filtered-src";
    filter = path: type: baseNameOf path != "skip.txt" && type != "symlink";
  };

  sources = mk {
    name = "sources";
    src = ./src;
    script = ./src/build.sh;
    inherit filtered;
    flat = builtins.path { path = ./src/data.txt; recursive = false; };
    pinned = builtins.path {
      path = ./src/sub;
      name = "pinned";
      sha256 = "0wdgmvz0qkdwydla7p08v4izdad081qp1k13kxwww5yfr764sjys";
    };
    legacy = builtins.filterSource (path: type: type == "directory" || baseNameOf path == "inner.txt") ./src;
  };

  texts = rec {
    plain = builtins.toFile "plain.txt" "hello\n";
    refers = builtins.toFile "refers.sh" "cat ${plain} ${./src/data.txt}";
  };

  withTexts = mk {
    name = "with-texts";
    inherit (texts) refers;
  };

  unicode = mk {
    name = "unicode";
    "attr-ü" = "grüße ✓ 日本語";
    escapes = "tab\there\nnewline \"quoted\" back\\slash $dollar";
    controls = builtins.fromJSON "\"a\\u0007b\\u0008c\\u000cd\\u001f\\r\"";
    text = builtins.toFile "unicode.txt" "grüße ✓\n";
  };

  conversions = mk {
    name = "conversions";
    int = 12;
    yes = true;
    no = false;
    nothing = null;
    list = [ "a" 1 [ "nested" ] null ];
    args = [ "-c" 3 ./src/data.txt ];
  };

  ignoreNulls = mk {
    name = "ignore-nulls";
    __ignoreNulls = true;
    gone = null;
    kept = "yes";
  };

  closures = mk {
    name = "closures";
    # `=drv` context: the whole closure of withDeps becomes input.
    whole = withDeps.drvPath;
    # plain context on the .drv file itself.
    justDrv = builtins.unsafeDiscardOutputDependency multi.drvPath;
  };
  # `outputs` as a string is split on white space (only derivationStrict takes it;
  # the `derivation` wrapper wants a list), so the result is shaped by hand.
  outputsString =
    let
      s = builtins.derivationStrict {
        name = "outputs-string";
        system = sys;
        builder = "/bin/sh";
        outputs = "out  bin\tman";
        args = [ "-c" simple ];
      };
    in
    {
      inherit (s) drvPath;
      outputs = [ "out" "bin" "man" ];
      out.outPath = s.out;
      bin.outPath = s.bin;
      man.outPath = s.man;
    };

  fodSha1Recursive = mk {
    name = "fod-sha1-recursive";
    outputHash = "sha1:0nisd2r6d6qf5mkc0vwpdz1wlj1ssnp6";
    outputHashMode = "recursive";
  };

  structuredFod = mk {
    name = "structured-fod";
    __structuredAttrs = true;
    __ignoreNulls = true;
    outputHash = "sha256-LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=";
    missing = null;
    src = fodSha1Recursive;
  };

  wholeFod = mk {
    name = "whole-fod+1.2_3";
    closure = fodFlat.drvPath;
    structured = structuredFod.drvPath;
  };
in
{
  inherit simple multi withDeps fodFlat fodSri fodRecursive onFod structured
    placeholders sources withTexts unicode conversions ignoreNulls closures
    outputsString fodSha1Recursive structuredFod wholeFod;
}
