# `elem` forces the list, then compares in order as `==` does and stops at the first
# match; `lessThan` as a comparator (`sort lessThan`) of numbers, strings and lists.
let
  t = e: (builtins.tryEval e).success;
  lazy = [ 1 (builtins.genList (n: n) 2) { a = 1; } ];
  drv = { type = "derivation"; outPath = "/p"; x = throw "not compared"; };
in [
  (builtins.elem 1 [ (0 + 1) (throw "after a match") ])
  (builtins.elem [ 0 1 ] lazy)
  (builtins.elem { a = 1; } lazy)
  (builtins.elem { a = 2; } lazy)
  (builtins.elem { type = "derivation"; outPath = "/p"; } [ 3 drv ])
  (t (builtins.elem 5 [ 1 (throw "reached") ]))
  (builtins.elem (throw "not forced") [ ])
  (builtins.elem [ (1 + 1) ] [ [ 1 ] [ 2 ] ])
  (builtins.sort builtins.lessThan [ 3 1.5 2 (-1) ])
  (builtins.sort builtins.lessThan [ "b" "a" "c" "" ])
  (builtins.sort builtins.lessThan [ [ 2 ] [ 1 3 ] [ 1 ] ])
  (builtins.lessThan 1 2) (builtins.lessThan "b" "a")
  (builtins.foldl' builtins.add 0 [ 1 2 3 ])
]
