{ a.b.c = 1; a.b.d = 2; a.e = 3; "q r" = 4; ${"dyn"} = 5; ${null} = 6; }
