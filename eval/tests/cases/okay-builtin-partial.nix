# Partial applications of builtins: kept, shared, applied again, and as lazy as a
# full application (an argument not yet needed is not forced).
let
  hasA = builtins.hasAttr "a";
  sub2 = builtins.substring 2;
  sub23 = sub2 3;
  fold = builtins.foldl' (acc: x: acc + x);
  fold10 = fold 10;
  lazy = builtins.elem (throw "never forced");
  cmp = builtins.lessThan 5;
in
[
  (hasA { a = 1; })
  (hasA { b = 1; })
  (sub23 "abcdefgh")
  (sub2 1 "abcdefgh")
  (fold10 [ 1 2 3 ])
  (fold 0 [ ])
  (fold10 [ ])
  (lazy [ ])
  (builtins.isFunction lazy)
  (map cmp [ 3 5 7 ])
  (builtins.map (builtins.add 1) [ 1 2 ])
]
