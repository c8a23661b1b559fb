# A lazy `elemAt l i` (and the other builtins of two or three arguments with a quick
# answer) is computed at once when its arguments already are values it answers for:
# the element is taken as it is, unforced. Anything else, such as an index out of
# range, an unevaluated argument or a wrong type, stays a thunk and fails only when
# used.
let
  inherit (builtins) elemAt elem substring;
  const = x: "ok";
  id = x: x;
  l = [ (throw "e") 2 { a = 1; } ];
  forcedL = builtins.seq l l;
  i0 = 0;
  i1 = 1;
  i2 = 2;
  big = 7;
  neg = -1;
  str = "abcdef";
  lazyList = throw "list";
  notList = { };
  pick = fst: snd: builtins.genList (n: [ (elemAt fst n) (elemAt snd n) ]) 2;
in {
  lazyElement = const (elemAt forcedL i0);
  forcedElement = id (elemAt forcedL i1);
  setElement = (id (elemAt forcedL i2)).a;
  outOfRange = const (elemAt forcedL big);
  negative = const (elemAt forcedL neg);
  unevaluated = const (elemAt lazyList i0);
  wrongType = const (elemAt notList i0);
  zipped = builtins.seq forcedL (pick [ 1 2 ] [ "a" "b" ]);
  member = id (elem i1 [ 0 1 ]);
  sub = id (substring i1 i2 str);
}
