# Builtins applied to two arguments at once (`f x y`, one `Op::Call2`): each kind of
# builtin, with arguments that are still unevaluated, completing a partial application,
# leaving a third argument for later, and given one argument too many.
let
  one = 1 + 0;
  xs = [ 1 2 3 ];
  add = builtins.add;
  sub2 = builtins.substring 2;
  fold = builtins.foldl' (acc: x: acc + x);
  fold1 = builtins.foldl' add 1;
in
[
  (builtins.add one (one + 1))
  (builtins.elem (one + 1) xs)
  (builtins.elem { a = one; } [ { a = 1; } ])
  (builtins.map (x: x * 2) xs)
  (builtins.filter (x: x > one) xs)
  (sub2 one "abcdef")
  (fold 0 xs)
  ((builtins.foldl' add) 5 xs)
  (fold1 xs)
  (builtins.isFunction fold1)
  (builtins.head [ add ] 3 4)
  (builtins.tryEval (builtins.add (throw "x") 1)).success
  (builtins.length (builtins.genList (i: throw "lazy") 3))
]
