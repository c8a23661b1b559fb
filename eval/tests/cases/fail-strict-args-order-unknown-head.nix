# The builtin forces its first argument first, also when the second is computed at
# the call: the error is the first argument's.
let
  inherit (builtins) add;
  x = throw "the first argument";
in
builtins.seq add (add x (throw "the second argument"))
