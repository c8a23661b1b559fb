let inherit (builtins) elemAt; l = [ 1 ]; i = 3; f = y: y; in builtins.seq l (f (elemAt l i))
