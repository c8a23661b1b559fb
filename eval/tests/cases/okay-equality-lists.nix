# Deep equality of lists: element by element, stopping at the first difference (later
# elements are not forced), through nested lists and sets, with evaluated thunks.
let
  a = builtins.genList (n: n) 5;
  b = builtins.map (x: x) [ 0 1 2 3 4 ];
  c = builtins.genList (n: { v = [ n ]; }) 3;
  d = builtins.genList (n: { v = [ (n + 0) ]; }) 3;
  forced = builtins.deepSeq [ c d ] true;
in [
  (a == b)
  ([ 1 [ 2 3 ] 4 ] == [ 1 [ 2 3 ] 4 ])
  ([ 1 [ 2 3 ] (throw "no") ] == [ 1 [ 2 4 ] 5 ])
  ([ [ ] [ [ ] ] ] == [ [ ] [ [ ] ] ])
  (c == d)
  (forced && c == d)
  ([ 1 2 ] == [ 1 2 3 ])
  (builtins.elem [ 0 1 2 3 4 ] [ [ 1 ] a ])
  ([ a a ] == [ b a ])
]
