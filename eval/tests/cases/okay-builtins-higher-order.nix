# The list builtins that call back into Nix code: results, which elements they force
# and when they stop, and that forcing the function comes first.
let
  boom = throw "boom";
  failed = e: !(builtins.tryEval e).success;
  l = [ 1 2 3 ];
in
{
  foldl = builtins.foldl' (a: b: a * 10 + b) 0 l;
  foldlCurried = builtins.foldl' builtins.add 0 l;
  foldlSkipsElements = builtins.foldl' (a: b: a + 1) 0 [ boom boom ];
  foldlForcesEachStep = failed (builtins.foldl' (a: b: b) 0 [ 1 boom 2 ]);
  foldlEmptyForcesStart = failed (builtins.foldl' (a: b: a) boom [ ]);
  foldlEmpty = builtins.foldl' (a: b: a) 7 [ ];
  foldlForcesFunction = failed (builtins.foldl' boom 0 [ ]);
  foldlForcesList = failed (builtins.foldl' (a: b: a) 0 boom);
  filter = builtins.filter (x: x != 2) l;
  filterKeepsElementsLazy = builtins.length (builtins.filter (x: true) [ boom boom ]);
  filterAllKept = let m = [ (x: x) ]; in builtins.filter (x: true) m == m;
  filterNone = builtins.filter (x: false) l;
  filterForcesFunction = failed (builtins.filter boom [ ]);
  filterPrimop = builtins.filter builtins.isInt [ 1 "a" 2 ];
  any = builtins.any (x: x == 2) [ 1 2 boom ];
  anyNone = builtins.any (x: x == 5) l;
  anyEmpty = builtins.any (x: true) [ ];
  anyForcesFunction = failed (builtins.any boom [ ]);
  all = builtins.all (x: x < 2) [ 1 2 boom ];
  allEvery = builtins.all (x: x < 5) l;
  allEmpty = builtins.all (x: false) [ ];
  concatMap = builtins.concatMap (x: [ x x ]) l;
  concatMapEmpty = builtins.concatMap (x: [ ]) l;
  concatMapLazy = builtins.length (builtins.concatMap (x: [ boom ]) l);
  concatMapForcesFunction = failed (builtins.concatMap boom [ ]);
  concatMapFunctor = builtins.concatMap { __functor = self: x: [ x ]; } l;
  getAttr = builtins.getAttr "b" { a = 1; b = 2; };
  getAttrLazy = builtins.length [ (builtins.getAttr "a" { a = boom; }) ];
  nested = builtins.foldl' (acc: x: acc ++ builtins.filter (y: y > x) l) [ ] l;
}
