# A compiled thunk whose code enters scopes of its own (`let`, `with`) before it
# fails: after the error is caught it is put back with the environment it was made in,
# not the inner scope it failed in, so forcing it again fails the same way, and a
# thunk sharing that environment still reads the right variables.
let
  k = 10;
  mk = n: rec {
    bad = let a = n + k; in with { b = a; }; let c = b * 2; in if c > 0 then throw "no" else c;
    good = let a = n; in a + k;
  };
  s = mk 1;
in [
  (builtins.tryEval s.bad)
  (builtins.tryEval s.bad)
  s.good
  (builtins.tryEval (s.good + s.bad))
  s.good
]
