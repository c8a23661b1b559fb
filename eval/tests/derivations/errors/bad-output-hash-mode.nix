derivation { name = "a"; system = "x"; builder = "/bin/sh"; outputHash = "sha256-LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="; outputHashMode = "flatter"; }
