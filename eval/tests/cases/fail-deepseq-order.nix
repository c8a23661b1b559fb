# deepSeq forces a list's elements in order: a's error surfaces, not b's.
let
  a = throw "first";
  b = throw "second";
in
builtins.deepSeq [ a b ] 1
