# `a: b: body` runs in one environment when called with both arguments; partial
# application, shadowing, formals and their defaults across the boundary must behave
# as with two environments.
let
  add = a: b: a * 10 + b;
  add1 = add 1;
  three = a: b: c: [ a b c ];
  three1 = three 1;
  three12 = three1 2;
  shadow = x: x: x;
  shadowF = x: { x ? 5, y ? x }: [ x y ];
  outerF = { p ? 1, q ? p + 1 }: r: { s ? q * r, t ? s + p }: [ p q r s t ];
  outerF1 = outerF { };
  outerF12 = outerF1 2;
  inner = x: { y, z ? x + y }: z;
  byLet = x: let y = x + 1; in z: [ x y z ];
  nested = a: b: (c: a + b + c) 100;
  captured = a: b: (c: d: [ a b c d ]) (a + b);
  # Thunks made inside the body refer to both arguments after the call has returned.
  lazy = a: b: { sum = a + b; get = _: [ a b ]; };
  lazyR = lazy 3 4;
  sorted = builtins.sort (a: b: a > b) [ 3 1 2 5 4 ];
  folded = builtins.foldl' (acc: x: acc * 2 + x) 0 [ 1 0 1 1 ];
  # A partial application used many times must not share arguments between calls.
  reused = map add1 [ 1 2 3 ];
  # `f a b` binds both at once when it can (`Op::Call2`); every other callee must
  # still see the two calls.
  four = a: b: c: d: [ a b c d ];
  five = a: b: c: d: e: [ a b c d e ];
  functor = { __functor = self: a: b: [ self.tag a b ]; tag = "t"; };
  viaThunk = let g = if true then (a: b: a - b) else null; in g 10 3;
  fst = builtins.head [ (a: b: a) ];
in
{
  inherit sorted folded reused;
  a = add 1 2;
  b = add1 3;
  c = add1 4;
  d = three12 3;
  e = three1 5 6;
  f = three 7 8 9;
  g = shadow 1 2;
  h = shadowF 1 { };
  i = shadowF 1 { x = 2; };
  j = outerF12 { };
  k = outerF { p = 10; } 3 { t = 0; };
  l = inner 1 { y = 2; };
  m = builtins.functionArgs (inner 1);
  n = builtins.functionArgs (outerF { });
  o = builtins.functionArgs (shadowF 1);
  p = byLet 1 2;
  q = nested 1 10;
  r = captured 1 2 3;
  s = lazyR.sum;
  t = lazyR.get null;
  u = builtins.functionArgs (three 1);
  v = four 1 2 3 4;
  w = five 1 2 3 4 5;
  x = functor 1 2;
  y = builtins.elemAt [ 1 2 3 ] 1;
  z = builtins.foldl' (a: b: a + b) 0 [ 1 2 3 ];
  aa = viaThunk;
  ab = fst 1 2;
  ac = (four 1) 2 3 4;
  ad = map (four 1 2 3) [ 4 5 ];
  ae = builtins.mapAttrs (n: v: v + 1) { a = 1; };
}
