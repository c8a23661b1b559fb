# `genList` and `map` compute an element at once when the function is its argument or
# one integer operator on evaluated variables; everything else stays lazy, and the
# elements are the same either way.
let
  big = 9223372036854775807;
  add = a: b: a + b;
  first = 3;
  bad = throw "bad";
  t = e: (builtins.tryEval e).success;
  over = builtins.genList (n: big + n) 3;
  lazyBad = builtins.genList (n: bad + n) 3;
  ids = builtins.map (x: x) [ 1 (throw "kept lazy") 3 ];
  plus = builtins.map (x: x + 1) [ 1 (throw "kept lazy") 2.5 ];
  deep = x: y: builtins.genList (n: x - n) y;
  late = let k = builtins.genList (n: n * m) 3; m = 4; in k;
in [
  (builtins.genList (n: first + n) 5)
  (builtins.map (x: x * 2) [ 1 2 (1 + 2) ])
  (builtins.length over) (builtins.head over)
  (builtins.length lazyBad) (t (builtins.head lazyBad))
  (builtins.genList (add 10) 3)
  (builtins.genList (n: n) 4)
  (builtins.elemAt ids 0) (builtins.elemAt ids 2) (t (builtins.elemAt ids 1))
  (builtins.elemAt plus 0) (builtins.elemAt plus 2) (t (builtins.elemAt plus 1))
  (builtins.genList (n: let z = n; k = 2; in k * z) 3)
  (deep 10 3)
  (builtins.genList (n: n < 2) 4)
  (builtins.map (x: x == 2) [ 1 2 3 ])
  (builtins.map (x: x != 2) [ 1 2 3 ])
  (builtins.genList (n: 1.5 + n) 2)
  late
  (builtins.genList (n: n - big) 2)
  (builtins.map (x: x) [ [ 1 ] { a = 2; } "s" null ])
]
