# Arguments a plain builtin forces are computed at the call (no thunk); only those:
# a function argument, a partial application, a shadowed or rebound name stay lazy.
let
  skipped = builtins.map (throw "the function is not needed") [ ];
  nested = map (x: x + 1) (builtins.genList (i: i * 2) 3);
  noF = builtins.genList (throw "never called") 0;
  caught = builtins.tryEval (map (x: x) (throw "a forced list"));
  caughtSet = builtins.tryEval (builtins.mapAttrs (n: v: v) (assert false; { }));
  partial = map (throw "not yet");
  shadowed = let map = f: xs: 1; in map 1 (throw "not forced");
  viaIf = (if true then (f: x: 2) else map) 1 (throw "not forced");
  viaSel = (if true then { map = f: x: 3; } else builtins).map 1 (throw "not forced");
  viaWith = with { map = f: x: 4; }; map (x: x * 10) [ 1 ];
  lazyElems = builtins.length (map (x: throw "an element") [ 1 2 ]);
  both = builtins.elemAt (builtins.genList (i: i) 4) (1 + 2);
  over = builtins.map (x: y: x + y) [ 1 ];
  # Arithmetic tried at once, on operands not yet numbers: then computed at the call.
  mix = x: builtins.bitAnd (x * 3 + 1) 7;
  two = 1 + 1;
  mixFails = builtins.tryEval (mix (throw "an operand"));
in
[
  skipped
  nested
  noF
  caught
  caughtSet
  (builtins.isFunction partial)
  shadowed
  viaIf
  viaSel
  viaWith
  lazyElems
  both
  ((builtins.head over) 2)
  (mix 2)
  (mix two)
  mixFails
]
