let
  a = derivation { name = "a"; system = "x"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; };
  b = derivation { name = "b"; system = "x"; builder = "${a.dev}/bin/sh"; args = [ "-c" a ]; };
  fixed = derivation {
    name = "f";
    system = "x";
    builder = "x";
    outputHash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    outputHashMode = "recursive";
  };
  structured = derivation { name = "s"; system = "x"; builder = "x"; __structuredAttrs = true; foo = [ 1 { a = "x"; } ]; dep = a; };
in
[ a.drvPath a.outPath a.dev.outPath b.drvPath b.outPath fixed.outPath structured.drvPath (builtins.placeholder "out") ]
