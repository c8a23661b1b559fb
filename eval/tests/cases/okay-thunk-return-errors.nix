# A thunk that returns another, unevaluated, forces it as it returns; when that fails,
# both are put back, so forcing either again raises the error again (under tryEval).
let
  s = { a = throw "no"; b = abort "never"; };
  t = s.a;
  u = t;
  f = x: x;
  v = f s.a;
in
[
  (builtins.tryEval u)
  (builtins.tryEval t)
  (builtins.tryEval u)
  (builtins.tryEval v)
  (builtins.tryEval v)
  (builtins.tryEval s.a)
]
