let x = throw "never"; in [ (builtins.length [ x x ]) ({ a = x; b = 1; }.b) ((a: 5) x) ]
