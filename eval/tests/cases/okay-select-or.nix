let s = { a = { b = 1; }; }; in [ (s.a.b or 2) (s.x.y or 3) (s ? a.b) (s ? a.c) (1 ? a) ]
