let
  d = derivation {
    name = "d";
    system = "x86_64-linux";
    builder = "/bin/sh";
    outputs = [ "out" "dev" ];
    flag = true;
  };
in
{
  inherit (d) name outputName type drvPath outPath drvAttrs;
  dev = d.dev.outPath;
  devName = d.dev.outputName;
  all = map (x: x.outputName) d.all;
  sameDrv = d.dev.drvPath == d.drvPath;
  isDrv = builtins.typeOf d;
  strict = builtins.attrNames (builtins.derivationStrict d.drvAttrs);
}
