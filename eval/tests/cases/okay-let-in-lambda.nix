# A `let` directly in a lambda's body takes slots of the call's environment instead of
# a scope of its own: its names shadow the arguments, end with its body, may refer to
# each other, and each call has its own.
let
  a = 10;
  shadow = x: let x = 2; in x;
  ends = x: (let a = 1; in a) + a;
  siblings = x: (let a = x; in a) + (let b = x * 2; in b);
  nested = x: let a = x + 1; in let b = a * 2; in let a = b + 1; in [ a b ];
  recursive = n: let xs = [ n ] ++ ys; ys = if n > 0 then f (n - 1) else [ ]; in xs;
  f = recursive;
  froms = s: let inherit (s) p q; in p + q;
  inheritOuter = a: let inherit a; in a;
  defaults = { x, y ? x + 1 }: let z = y * 2; in z;
  closures = x: let g = y: x + y + z; z = 3; in map g [ 1 2 ];
  curried = p: q: let c = p + q; in c;
  lazy = x: let boom = throw "never"; ok = x; in ok;
  calls = map (i: let sq = i * i; in sq) [ 1 2 3 ];
  inWith = s: with s; let w = p; in w;
in {
  shadow = shadow 1;
  ends = ends 0;
  siblings = siblings 3;
  nested = nested 1;
  recursive = f 3;
  froms = froms { p = 1; q = 2; };
  inheritOuter = inheritOuter 7;
  defaults = defaults { x = 1; };
  closures = closures 10;
  curried = curried 4 5;
  lazy = lazy "fine";
  inherit calls;
  inWith = inWith { p = "w"; };
}
