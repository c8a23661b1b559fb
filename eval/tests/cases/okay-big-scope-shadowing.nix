# Scopes of more than 16 names are searched through an index: a `let` that joins a
# lambda's scope shadows the lambda's arguments, which are seen again after its body.
let
  f = { a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q }:
    if q then (let a = "let"; r = a + "!"; in [ a r p ]) else [ a p ];
  args = { a = "arg"; b = 2; c = 3; d = 4; e = 5; f = 6; g = 7; h = 8; i = 9; j = 10;
    k = 11; l = 12; m = 13; n = 14; o = 15; p = 16; };
  big = rec {
    x1 = 1; x2 = x1 + 1; x3 = x2 + 1; x4 = x3 + 1; x5 = x4 + 1; x6 = x5 + 1;
    x7 = x6 + 1; x8 = x7 + 1; x9 = x8 + 1; x10 = x9 + 1; x11 = x10 + 1; x12 = x11 + 1;
    x13 = x12 + 1; x14 = x13 + 1; x15 = x14 + 1; x16 = x15 + 1; x17 = x16 + 1;
    x1' = x17;
  };
in
[ (f (args // { q = true; })) (f (args // { q = false; })) big.x1' ]
