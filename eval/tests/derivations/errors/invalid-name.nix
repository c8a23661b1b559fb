derivation { name = "~jiggle~"; system = "x"; builder = "/bin/sh"; }
