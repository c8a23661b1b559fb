let s = { a = 1; }; f = x: x; in builtins.seq s (f s.b)
