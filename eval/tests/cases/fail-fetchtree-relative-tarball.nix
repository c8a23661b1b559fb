builtins.fetchTree "tarball+file:dir/x"
