# `//` in a function called many times: every result keeps the positions of both
# sides, and different pairs of sides are not mixed up.
let
  p = n: s: let r = builtins.unsafeGetAttrPos n s; in if r == null then null else [ r.line r.column ];
  over = x: x // { b = 2; };
  under = x: { a = 0; c = 3; } // x;
  sets = builtins.genList (i: over { a = i; }) 200;
  other = builtins.genList (i: under { a = i; }) 200;
  last = builtins.elemAt sets 199;
  lastOther = builtins.elemAt other 199;
in
[
  (p "a" last) (p "b" last) (last.a) (p "a" lastOther) (p "c" lastOther) (lastOther.a)
  (builtins.all (s: p "a" s == [ 7 38 ] && p "b" s == [ 5 20 ]) sets)
  ({ a = 1; } ? a) ({ a.b = 1; } ? a.b) ({ a.b = 1; } ? a.c) ({ a = 1; } ? a.b)
  ({ a = throw "not forced"; } ? a) (let s = { x = { y = null; }; }; in [ (s ? x.y) (s ? x.y.z) ])
  (let k = "a"; in { a.b = 1; } ? ${k}.b)
]
