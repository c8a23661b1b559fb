# What evaluation added to the store (here `toFile` texts) reads back, as C++ Nix reads
# it from its store (checked with nix-instantiate --eval --read-write-mode).
let
  mod = builtins.toFile "mod.nix" "{ x = 1; y = [ 2 3 ]; }";
  t = builtins.toFile "t" "hello";
in
{
  imported = import mod;
  text = builtins.readFile t;
  hash = builtins.hashFile "sha256" t;
  exists = builtins.pathExists t;
  missing = builtins.pathExists "${t}/below";
  # A store path nothing added.
  other = builtins.pathExists "/nix/store/00000000000000000000000000000000-none";
}
