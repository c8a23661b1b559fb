# As fail-map-self-reference, for a function that is no lambda (a functor set).
# (C++ Nix fails too, as a stack overflow.)
let l = map { __functor = s: i: builtins.elemAt l i; } [ 0 ]; in builtins.elemAt l 0
