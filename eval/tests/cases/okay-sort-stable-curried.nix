# sort: stable, with curried and formal-taking comparators, and one defined by partial
# application.
let
  xs = [ { k = 3; v = "a"; } { k = 1; v = "b"; } { k = 3; v = "c"; } { k = 2; v = "d"; } { k = 1; v = "e"; } ];
  byK = a: b: a.k < b.k;
  cmp = f: a: b: f a < f b;
in [
  (map (x: x.v) (builtins.sort byK xs))
  (map (x: x.v) (builtins.sort (cmp (x: x.k)) xs))
  (builtins.sort (a: { x ? 0 }: a < x) [ ])
  (builtins.sort builtins.lessThan [ 5 3 9 1 1 0 ])
  (builtins.sort (a: b: a > b) (builtins.genList (i: i * 7 - 3 * i * i) 9))
  (builtins.sort (a: b: a < b) [ 1 ])
]
