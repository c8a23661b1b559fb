# mapAttrs and zipAttrsWith apply f to each name and value lazily: neither f nor the
# values are forced until a result is looked at, and a failed result fails again.
let
  m = builtins.mapAttrs (n: v: "${n}-${toString v}") { a = 1; b = 2; bad = throw "never"; };
  formals = builtins.mapAttrs (n: { x, ... }: n + x) { p = { x = "1"; y = 0; }; };
  notCurried = builtins.mapAttrs (n: let g = v: n + v; in g) { q = "2"; };
  builtinF = builtins.mapAttrs builtins.getAttr { a = { a = 5; }; };
  thunkF = builtins.mapAttrs (if true then (n: v: n + v) else null) { s = "t"; };
  lazyF = builtins.attrNames (builtins.mapAttrs (throw "f") { a = 1; b = 2; });
  failing = builtins.mapAttrs (n: v: throw "boom ${n}") { k = 1; };
  z = builtins.zipAttrsWith (n: vs: [ n ] ++ vs) [ { a = 1; } { a = 2; b = 3; } ];
  zNotCurried = builtins.zipAttrsWith (n: builtins.length) [ { a = 1; } { a = 2; } ];
  zLazy = builtins.attrNames (builtins.zipAttrsWith (n: vs: throw "g") [ { c = throw "v"; } ]);
  nested = builtins.mapAttrs (n: v: builtins.mapAttrs (m: w: n + m + w) v) { o = { i = "x"; }; };
in {
  m = { inherit (m) a b; };
  inherit formals notCurried builtinF thunkF lazyF z zNotCurried zLazy nested;
  failing = [ (builtins.tryEval failing.k) (builtins.tryEval failing.k) ];
}
