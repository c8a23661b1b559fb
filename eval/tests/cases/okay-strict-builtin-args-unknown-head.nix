# A call whose head is only known when it runs (a variable, an attribute) computes
# the arguments a plain builtin it turns out to be forces first thing at once; every
# other argument stays lazy, and the order in which the builtin forces them holds.
let
  lib = { inherit (builtins) add isAttrs length map head seq; };
  inherit (lib) add isAttrs length map head seq;
  order = e: (builtins.tryEval e).success;
  firstX = add (throw "x");
  lazyX = x: throw "x";
in
# The heads are evaluated first, so the calls below see builtins, not thunks.
builtins.deepSeq [ add isAttrs length map head seq ] [
  (isAttrs (builtins.listToAttrs [ ]))
  (length (map (x: x) [ 1 2 3 ]))
  # Not forced: the first argument of map, the elements of the list.
  (length (map (throw "f") [ ]))
  (length (map (x: throw "elem") [ 1 2 ]))
  # A partial application does not force its argument; a later call does.
  (builtins.isFunction (add (throw "not yet")))
  ((add 1) (2 + 3))
  (order (firstX (throw "y")))
  # Past the builtin's arity: the extra argument is lazy.
  (head [ (x: 1) ] (throw "not forced"))
  # A rebound name or a function is no builtin.
  (let isAttrs = x: true; in isAttrs (throw "not forced"))
  ((if true then (x: 2) else isAttrs) (throw "not forced"))
  (lib.seq (1 + 1) 3)
  (seq { } 4)
  (builtins.tryEval (add (lazyX 1) (throw "y")))
]
