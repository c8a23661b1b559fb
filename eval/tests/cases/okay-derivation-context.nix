let
  d = derivation { name = "d"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "lib" ]; };
  text = builtins.toFile "t.txt" "plain";
  refers = builtins.toFile "r.txt" "see ${text}";
  combined = "${d} ${d.lib} ${d.drvPath} ${refers}";
in
{
  inherit text refers;
  context = builtins.getContext combined;
  discarded = builtins.getContext (builtins.unsafeDiscardOutputDependency d.drvPath);
  rebuilt = builtins.appendContext (builtins.unsafeDiscardStringContext combined) (builtins.getContext combined) == combined;
  placeholders = [ (builtins.placeholder "out") (builtins.placeholder "lib") ];
  storePath = builtins.getContext (builtins.storePath (builtins.unsafeDiscardStringContext d.outPath));
}
