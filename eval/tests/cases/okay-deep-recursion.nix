let f = n: if n == 0 then 0 else 1 + f (n - 1); in [ (f 100000) (builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000)) (builtins.length (builtins.genList (x: x) 1000000)) ]
