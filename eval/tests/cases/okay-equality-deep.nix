let
  d1 = { type = "derivation"; outPath = "/a"; x = 1; };
  d2 = { type = "derivation"; outPath = "/a"; x = throw "no"; y = 2; };
  d3 = { type = "derivation"; outPath = "/b"; };
  n = { type = "x"; a = 1; };
  l = builtins.genList (i: i * 2) 1000;
  l2 = builtins.genList (i: i + i) 1000;
in [
  (d1 == d2) (d1 == d3) ([d1] == [d2]) ({a = d1;} == {a = d2;})
  (n == { type = "x"; a = 1; }) (n == { type = "x"; a = 2; })
  (l == l2) (l != l2) ([1 (throw "x")] == [2 (throw "y")])
  ({ a = 1; b = [ 1 2.0 ]; } == { a = 1.0; b = [ 1.0 2 ]; })
  ({ a = 1; c = 2; } == { b = 1; c = throw "z"; })
  (builtins.elem [3 4] [[1 2] [3 4]])
  (builtins.lessThan [1 2 (1+1)] [1 2 3])
  ([ (x: x) ] == [ (x: x) ])
  (let f = x: x; in [ f ] == [ f ])
  ({ t = { type = "derivation"; outPath = 1; }; } == { t = { type = "derivation"; outPath = 1.0; z = 1; }; })
]
