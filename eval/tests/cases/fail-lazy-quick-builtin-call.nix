let inherit (builtins) attrNames; x = 1; f = y: y; in builtins.seq x (f (attrNames x))
