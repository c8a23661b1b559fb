# sort with comparators that ignore their arguments or are never called, on lazy elements.
let xs = builtins.genList (i: 3 - i) 3; in [ (builtins.sort (a: b: true) [ ]) (builtins.sort (a: b: false) xs) (builtins.sort (a: b: a < b) [ 5 ]) (builtins.sort (a: b: a < b) xs) ]
