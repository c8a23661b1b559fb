derivation { name = "a"; system = "x"; builder = "/bin/sh"; args = "-c"; }
