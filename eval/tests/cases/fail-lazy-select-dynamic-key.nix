let s = { a = 1; }; k = 2; f = x: x; in builtins.seq s (f s.${k})
