# A long chain of thunks, each returning the one before unevaluated: each return forces
# the next, one frame per link.
let
  n = 20000;
  xs = builtins.genList (i: if i == 0 then 7 else builtins.elemAt xs (i - 1)) n;
  aliases = builtins.foldl' (acc: i: let t = acc; in { inherit t; }.t) 1 (builtins.genList (i: i) n);
in
[ (builtins.elemAt xs (n - 1)) aliases ]
