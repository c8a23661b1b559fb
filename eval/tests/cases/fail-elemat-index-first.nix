# C++ Nix forces the index before the list: when both fail, the error is the index's.
let g = builtins.elemAt (throw "list first"); in g (throw "index second")
