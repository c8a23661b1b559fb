derivation { name = "a"; system = "x"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; outputHash = "sha256-LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="; }
