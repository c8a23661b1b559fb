let lib = { inherit (builtins) bitAnd; }; in lib.bitAnd "1" (throw "the second")
