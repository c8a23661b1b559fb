# More names than a set scans linearly: nested paths still merge into one set, and
# `with` names resolve behind lexical ones.
let
  y = 5;
  s = {
    a01 = 1; a02 = 2; a03 = 3; a04 = 4; a05 = 5; a06 = 6; a07 = 7; a08 = 8; a09 = 9;
    a10 = 10; a11 = 11; a12 = 12; a13 = 13; a14 = 14; a15 = 15; a16 = 16; a17 = 17;
    n.x = 1;
    a18 = 18;
    n.y = 2;
    m = { p = 1; };
    m.q = 2;
    inherit y;
  };
in with { y = 0; z = 3; }; [ s.n s.m s.a18 s.y y z (s.a01 + s.a17) ]
