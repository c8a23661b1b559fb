let
  a = derivation { name = "a"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; };
in
builtins.toXML [ a a.dev { inherit a; } { type = "derivation"; } ]
