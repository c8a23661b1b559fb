# A value of mapAttrs that needs itself: the named application is marked while forced.
# (C++ Nix fails too, as a stack overflow.)
let s = builtins.mapAttrs (n: v: s.${n}) { a = 1; }; in s.a
