# A function applied lazily (map, genList) whose body ends in an unevaluated value:
# the thunk's frame forces it before it returns, also when that fails and is retried.
let
  id = x: x;
  pick = a: b: b;
  xs = map id [ (1 + 1) (2 * 3) ];
  ys = builtins.genList (i: builtins.elemAt xs i) 2;
  zs = map (pick 0) [ (builtins.head ys + 1) ];
  bad = map id [ (throw "boom") ];
in
[
  xs
  ys
  zs
  (builtins.tryEval (builtins.head bad))
  (builtins.tryEval (builtins.head bad))
]
