derivation { name = "a"; system = "x"; builder = "/bin/sh"; __contentAddressed = true; }
