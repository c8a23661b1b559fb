# `builtins.seq a b` and `builtins.addErrorContext msg e` are compiled in place of the
# call: `a` is still forced first, `b` and `e` keep their laziness where the call had
# it, the message is only evaluated for an error, and a local `builtins` is not the
# builtins.
let
  f = x: builtins.seq x (throw "b");
  r = { v = builtins.addErrorContext "m" (throw "e"); w = builtins.addErrorContext "m" (x: x); };
  mine = let builtins = { seq = a: b: "mine"; }; in builtins.seq 1 2;
in {
  forcesFirst = (builtins.tryEval (builtins.seq (throw "a") 1)).success;
  second = builtins.seq 1 2;
  moreArgs = builtins.seq 1 (x: x + 1) 2;
  lazyResult = builtins.length [ (f 1) ];
  lazyParen = builtins.length [ ((builtins.seq) 1 (throw "p")) ];
  msgUnused = builtins.addErrorContext (throw "msg") 5;
  ctxMoreArgs = builtins.addErrorContext "m" (x: x * 2) 21;
  ctxLazy = builtins.attrNames r;
  ctxFails = (builtins.tryEval r.v).success;
  ctxFunction = r.w 7;
  ctxCaught = (builtins.tryEval (builtins.addErrorContext (throw "bad msg") (throw "e"))).success;
  ctxAsValue = let f = builtins.addErrorContext; in f (throw "msg") 6;
  inherit mine;
}
