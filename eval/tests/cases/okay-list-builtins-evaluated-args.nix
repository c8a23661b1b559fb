# listToAttrs, elem, any/all, foldl', filter and concatMap on arguments that are
# already evaluated and on ones that are not: the first of equal names wins (also past
# the size where sets change representation), elem compares records and numbers, and
# errors in the arguments stay catchable; a later duplicate name needs no `value`.
let
  names = builtins.genList (x: x) 60;
  big = builtins.listToAttrs (map (i: { name = "k${toString (builtins.div i 2)}"; value = i; }) names);
  evaluated = [ 1 2 3 ];
  f = x: x > 1;
in
builtins.seq evaluated (builtins.seq f {
  small = builtins.listToAttrs [ { name = "a"; value = 1; } { name = "b"; value = 2; } { name = "a"; value = 3; } (let n = "c"; in { name = n; value = 4; }) ];
  bigNames = builtins.attrNames big;
  bigValues = builtins.attrValues big;
  elemString = builtins.elem "x" [ "a" "x" ];
  elemRecord = builtins.elem { a = 1; b = [ 1 2 ]; } [ { a = 1; b = [ 1 3 ]; } { a = 1; b = [ 1 2 ]; } ];
  elemNumber = builtins.elem 1 [ 1.0 ];
  elemEvaluated = builtins.elem 3 evaluated;
  elemEmpty = builtins.elem (throw "never forced") [ ];
  elemThrows = builtins.tryEval (builtins.elem 1 [ 2 (throw "x") ]);
  listToAttrsElemThrows = builtins.tryEval (builtins.listToAttrs [ (throw "elem") ]);
  # Only the occurrence that wins needs a value.
  listToAttrsLaterNoValue = builtins.listToAttrs [ { name = "a"; value = 1; } { name = "a"; } ];
  listToAttrsListThrows = builtins.tryEval (builtins.listToAttrs (throw "list"));
  all = builtins.all f evaluated;
  any = builtins.any f evaluated;
  allFunThrows = builtins.tryEval (builtins.all (throw "f") [ ]);
  allListThrows = builtins.tryEval (builtins.all f (throw "l"));
  foldl = builtins.foldl' (a: b: a + b) 0 evaluated;
  filter = builtins.filter f evaluated;
  concatMap = builtins.concatMap (x: [ x x ]) evaluated;
  match = builtins.match "([a-z]+)-([0-9]+)" "abc-123";
  noMatch = builtins.match "([a-z]+)-([0-9]+)" "abc-12x";
})
