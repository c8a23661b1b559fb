# Sets with dynamic names are built in one go (static and dynamic names sorted
# together, `null` names left out), and `//` of small sets merges name-sorted arrays.
let
  n = "m";
  none = null;
  a = { z = 1; ${n} = 2; "${n}x" = 3; ${none} = 4; b = 5; };
  b = { ${"a"} = 1; };
  c = { };
  long = { prefixed_b = 1; prefixed_a = 2; x = 3; ${"prefixed_c"} = 4; };
  merged = long // { prefixed_a = 20; prefixed_d = 30; a = 0; } // { x = 40; };
in
[
  (builtins.attrNames a)
  (builtins.attrValues a)
  b
  (a // b // c)
  (c // a).m
  merged
  (builtins.attrNames (a // long))
  (builtins.mapAttrs (k: v: "${k}=${toString v}") long)
]
