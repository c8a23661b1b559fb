# A lazy `attrNames x` (and the other one-argument builtins with a quick answer) is
# computed at once when `x` already is a value it answers for; anything else, such as
# a wrong type, an unevaluated argument or a function that merely shares the name,
# stays a thunk and fails only when used.
let
  inherit (builtins) attrNames attrValues length toString stringLength;
  const = x: "ok";
  id = x: x;
  s = { b = 1; a = throw "a"; };
  forced = builtins.seq s s;
  l = [ (throw "e") 2 ];
  forcedL = builtins.seq l l;
  n = 3;
  str = "abc";
  notSet = 1;
  lazyArg = throw "arg";
  local = { attrNames = x: throw "shadowed"; };
in {
  names = id (attrNames forced);
  values = builtins.length (id (attrValues forced));
  len = id (length forcedL);
  viaBuiltins = id (builtins.length forcedL);
  str = id (toString n);
  strLen = id (stringLength str);
  wrongType = const (attrNames notSet);
  unevaluated = const (attrNames lazyArg);
  shadowed = const (local.attrNames forced);
}
