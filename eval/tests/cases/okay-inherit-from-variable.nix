# `inherit (x) a;` with `x` a variable reads it where it is, still lazily: a missing
# attribute only fails when forced (see fail-inherit-from-variable-missing.nix).
let
  f = m: { inherit (m) a b; c = m.a; };
  r = f { a = 1; };
  g = m: let m2 = { a = 2; }; in { inherit (m) a; inner = { inherit (m2) a; }; };
  s = let x = { y = "s"; }; in builtins.seq x { v = x.y or "none"; w = x.z or "none"; eq = x.y == "s"; };
in {
  a = r.a;
  c = r.c;
  hasB = r ? b;
  g = g { a = 3; };
  inherit s;
}
