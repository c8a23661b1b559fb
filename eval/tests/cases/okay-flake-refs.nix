# parseFlakeRef and flakeRefToString: each form, and back again.
let
  refs = [
    "github:NixOS/nixpkgs/23.05?dir=lib"
    "gitlab:owner/repo/0123456789abcdef0123456789abcdef01234567"
    "git+https://example.org/repo.git?ref=main&submodules=1"
    "path:/src/flake?lastModified=1700000000"
    "tarball+https://example.org/archive"
    "https://example.org/src.tar.gz"
    "flake:nixpkgs/nixos-23.05"
  ];
in
map (r: let a = builtins.parseFlakeRef r; in [ a (builtins.flakeRefToString a) ]) refs
++ [ (builtins.parseFlakeRef "nixpkgs") (builtins.flakeRefToString { type = "github"; owner = "o"; repo = "r"; dir = "sub dir"; }) ]
