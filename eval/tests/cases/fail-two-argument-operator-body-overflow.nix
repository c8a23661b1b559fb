# An operator body that overflows is reported as the same body run in full would be.
builtins.foldl' (acc: x: acc + x) 0 [ 9223372036854775807 1 ]
