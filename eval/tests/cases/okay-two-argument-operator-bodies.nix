# Comparators and folding operators whose body is one operator on the two arguments,
# in either order, on integers and on what is not an integer (strings, floats, mixed),
# also when made by applying an outer function first.
let
  xs = [ 5 3 9 1 1 0 ];
in [
  (builtins.sort (a: b: a < b) xs)
  (builtins.sort (a: b: b < a) xs)
  (builtins.sort (a: b: a >= b) xs)
  (builtins.sort (a: b: a < b) [ "b" "a" "c" ])
  (builtins.sort (a: b: a < b) [ 2.5 1 2 0.5 ])
  (builtins.sort ((c: a: b: a < b) 0) xs)
  (builtins.sort ((c: a: b: c < b) 4) xs)
  (builtins.foldl' (acc: x: acc + x) 0 xs)
  (builtins.foldl' (acc: x: acc - x) 100 xs)
  (builtins.foldl' (acc: x: x - acc) 100 xs)
  (builtins.foldl' (acc: x: acc * x) 1 [ 2 3 4 ])
  (builtins.foldl' (acc: x: acc == x) 1 [ 1 ])
  (builtins.foldl' (acc: x: acc + x) "" [ "a" "b" ])
  (builtins.foldl' (acc: x: acc + x) 0.5 [ 1 2 ])
]
