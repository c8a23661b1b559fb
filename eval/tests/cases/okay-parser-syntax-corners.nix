# Syntax our own parser must read as rnix does (it declines the rest to rnix).
let
  or = 1;
  s = { a.b = 2; "c d" = 3; ${"e"} = 4; inherit or; };
  f = { x, y ? x + 1, ... }@args: [ x y (args.z or 0) ];
  g = args@{ x }: args.x;
  ind = ''
    a ''$ b ''' c ''\t ${"d"} $${e}
  '';
  legacy = let { v = 5; body = v * 2; };
in
[
  (s.a.b or 0) (s."c d") (s.${"e"}) (s.x or s.or) (s ? a.b)
  (f { x = 1; z = 3; }) (g { x = 6; })
  ind "q\"${"r"}\${t}$$"
  .5 1.0e2 1.5e-1 (-2 - -1) (!true || false && true) (1 < 2 == true)
  (2 * 3 + 4 / 2 - 1) ([ 1 ] ++ [ 2 ] ++ [ ]) ({ a = 1; } // { b = 2; })
  (true -> false) legacy
  (builtins.baseNameOf ./a${"b"}/c.nix) (with { w = 7; }; w)
  (assert true; if false then 0 else 8)
  /* comment */ # another
]
