# Operators on operands already evaluated (held in thunks forced earlier) give what
# they give on fresh values: equality, `?` with static and dynamic names, `if`, and
# formals with and without defaults.
let
  s = { a = 1; b.c = "x"; };
  n = "a";
  t = 1 == 1;
  str = "x" + "y";
  l = [ 1 2 ];
  f = { a, b ? a + 1, ... }: [ a b ];
  force = builtins.seq [ s n t str l ] true;
in
assert force;
[
  (str == "xy") (str != "xy") (l == [ 1 2 ]) (l == [ 1 3 ]) (s == s) (s.a == 1.0)
  (null == s) (s.b.c == "x") (s ? a) (s ? z) (s ? ${n}) (s ? ${"z"}) (s ? b.c)
  (s ? b.z) (s ? a.b) (t ? a) (str ? ${n}) (if t then "yes" else "no")
  (f s) (f { a = 2; b = 5; }) (f { a = 3; c = 0; })
]
