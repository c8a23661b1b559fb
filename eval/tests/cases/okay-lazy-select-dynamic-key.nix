# A lazy `x.${k}` with `x` and `k` variables is taken at once when `x` already is a
# set and `k` a string naming one of its attributes; otherwise it stays a thunk.
let
  const = x: "ok";
  id = x: x;
  s = { a = 1; b = throw "b"; };
  forced = builtins.seq s s;
  k = "a";
  kb = "b";
  missing = "nope";
  notString = 1;
  lazyKey = throw "key";
in {
  present = id forced.${k};
  presentTwice = let t = { inner = forced; }; in builtins.seq t (id t.inner.${k});
  notForced = const forced.${kb};
  missing = const forced.${missing};
  badKey = const forced.${notString};
  lazyKey = const forced.${lazyKey};
  throws = builtins.tryEval (id forced.${kb});
}
