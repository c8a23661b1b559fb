# A list of one is not compared, but its element is forced all the same (as in C++ Nix).
builtins.length (builtins.sort (a: b: a < b) [ (throw "sort forces a lone element") ])
