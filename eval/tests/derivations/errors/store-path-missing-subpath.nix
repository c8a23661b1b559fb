builtins.storePath "/nix/store/b9zl0z05gay6ciyg62ah5snhm4km2vn1-d/bin/x"
