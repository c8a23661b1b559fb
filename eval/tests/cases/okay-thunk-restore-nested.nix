# Thunks of each kind (compiled code, an application from `map`, one from `mapAttrs`)
# that fail while forcing one another, through calls and builtins in between: after
# the error is caught, each is put back and fails the same way when forced again, and
# nothing else is left half-forced.
let
  bad = n: if n == 0 then throw "boom" else bad (n - 1);
  s = { a = bad 3; };
  l = map (x: bad x) [ 2 ];
  m = builtins.mapAttrs (k: v: bad v + s.a) { z = 1; };
  outer = { v = builtins.foldl' (acc: x: acc + x) 0 [ 1 (builtins.head l) m.z ]; };
  first = builtins.tryEval outer.v;
  ok = { w = 1 + 2; };
in [
  first
  (builtins.tryEval outer.v)
  (builtins.tryEval m.z)
  (builtins.tryEval (builtins.head l))
  (builtins.tryEval s.a)
  (builtins.seq first ok.w)
  (builtins.tryEval (builtins.length (builtins.attrNames m)))
]
