let
  f = x: x;
  fails = e: !(builtins.tryEval e).success;
in [
  (builtins.elem { a = 1; b = "x"; } [ { a = 1; b = "y"; } { a = 1; b = "x"; } ])
  (builtins.elem { a = 1; } [ { a = 1; b = 2; } { b = 1; } ])
  ({ a = f; } == { a = f; })
  ({ a = x: x; } == { a = x: x; })
  ({ a = 1; b = [ 1 ]; } == { a = 1; b = [ 1 ]; })
  ({ a = 1; b = [ 1 ]; } == { a = 1; b = [ 2 ]; })
  ({ a = 1; b = 2.0; } == { a = 1.0; b = 2; })
  (fails ({ a = throw "boom"; b = 1; } == { a = 1; b = 2; }))
  (fails ({ a = { type = throw "t"; }; b = 1; } == { a = { }; b = 1; }))
  (fails ({ a = { type = throw "t"; }; b = 1; } == { a = { }; b = 2; }))
  ({ a = 1; b = throw "boom"; } == { a = 2; b = 1; })
  ({ type = "derivation"; outPath = "x"; a = 1; } == { type = "derivation"; outPath = "x"; a = 2; })
  ({ a = { type = "derivation"; outPath = "x"; a = 1; }; } == { a = { type = "derivation"; outPath = "x"; a = 2; }; })
  (builtins.elem { a = { b = [ 1 { c = "x"; } ]; }; } [ { a = { b = [ 1 { c = "y"; } ]; }; } { a = { b = [ 1 { c = "x"; } ]; }; } ])
  (fails ({ a = { b = [ 1 (throw "boom") ]; }; c = 1; } == { a = { b = [ 1 2 ]; }; c = 2; }))
  ({ a = { b = [ 1 2 ]; }; c = throw "boom"; } == { a = { b = [ 1 3 ]; }; c = 2; })
]
