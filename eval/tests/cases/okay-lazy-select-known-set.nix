# A lazy `x.a.b` is taken at once when `x` is already a set holding the path, and is
# otherwise a thunk: missing attributes, non-sets and unevaluated sets stay lazy.
let
  const = x: "ok";
  s = { a = { b = 1; c = throw "c"; }; n = 5; };
  forced = builtins.seq s (builtins.seq s.a s);
  lazySet = { a = throw "lazy set"; };
  notSet = 3;
  id = x: x;
  # `s.a.c` is taken without forcing `c`, so the throw waits for whoever looks at it.
  pick = builtins.tryEval (id forced.a.c);
in {
  missing = const s.nope;
  missingDeep = const s.a.nope.deeper;
  missingGlobal = const builtins.nope;
  fromNonSet = const notSet.a;
  throughThrow = const lazySet.a.b;
  present = id forced.a.b;
  presentFirst = id s.n;
  global = builtins.length [ (id builtins.true) ];
  inherit pick;
  rec' = let r = rec { x = { y = 7; }; z = id x.y; }; in r.z;
}
