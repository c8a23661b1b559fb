# genericClosure calls the operator on the first element before it looks at the second.
let
  op = _: throw "operator first";
  second = throw "second key";
in
builtins.genericClosure { startSet = [ { key = 1; } { key = second; } ]; operator = op; }
