let
  p = n: s: let r = builtins.unsafeGetAttrPos n s; in if r == null then null else [ r.line r.column ];
  plain = { a = 1; b.c = 2; "q r" = 3; };
  recset = rec { x = 1; y = x; };
  nested = { s.t.u = 1; s.v = 2; };
  merged = { m = 1; n = 2; } // { n = 3; };
  f = { alpha, beta ? 2 }: alpha;
  fa = builtins.functionArgs f;
  inh = let k = 1; in { inherit k; inherit (plain) a; };
  dyn = { ${"d"} = 1; e = 2; };
  dynleft = { e = 1; } // { ${"e"} = 2; };
  inter = builtins.intersectAttrs { a = 0; } plain;
  removed = builtins.removeAttrs plain [ "b" ];
  mapped = builtins.mapAttrs (n: v: v) plain;
in
[
  (p "a" plain) (p "b" plain) (p "c" plain.b) (p "q r" plain) (p "zz" plain)
  (p "x" recset) (p "y" recset)
  (p "s" nested) (p "t" nested.s) (p "u" nested.s.t) (p "v" nested.s)
  (p "m" merged) (p "n" merged)
  (p "alpha" fa) (p "beta" fa)
  (p "k" inh) (p "a" inh)
  (p "e" dyn)
  (p "e" dynleft)
  ((builtins.unsafeGetAttrPos "a" plain).file == __curPos.file)
]
