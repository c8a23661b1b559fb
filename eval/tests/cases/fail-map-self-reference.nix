# An element of map that needs itself: the application is marked while forced.
# (C++ Nix fails too, as a stack overflow.)
let l = map (i: builtins.elemAt l i) [ 0 ]; in builtins.elemAt l 0
