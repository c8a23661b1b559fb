# `derivation`: the lazy face of `builtins.derivationStrict`. The strict call runs
# only when a path is asked for; every output becomes an attribute set of its own
# that shares the original attributes, and the first listed output is the result.
drvAttrs@{
  outputs ? [ "out" ],
  ...
}:
let
  strict = derivationStrict drvAttrs;

  commonAttrs =
    drvAttrs
    // (builtins.listToAttrs outputsList)
    // {
      all = map (x: x.value) outputsList;
      inherit drvAttrs;
    };

  outputToAttrListElement = outputName: {
    name = outputName;
    value = commonAttrs // {
      outPath = builtins.getAttr outputName strict;
      drvPath = strict.drvPath;
      type = "derivation";
      inherit outputName;
    };
  };

  outputsList = map outputToAttrListElement outputs;
in
(builtins.head outputsList).value
