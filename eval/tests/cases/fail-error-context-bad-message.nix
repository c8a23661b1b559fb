# A message that fails to compute takes the error's place, as in C++ Nix (where the
# handler's own error propagates): `tryEval` then sees that error, not the first.
let caught = builtins.tryEval (builtins.addErrorContext (throw "bad") (abort "x")); in
assert !caught.success;
builtins.addErrorContext (throw "bad message") (1 + "a")
