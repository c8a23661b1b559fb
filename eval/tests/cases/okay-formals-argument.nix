# The argument of a formals function arrives unevaluated, evaluated, or as a set,
# and `@args` sees it forced.
let
  f = { a ? 1, ... }@args: [ a args ];
  y = { a = 2; };
in
[ (f (builtins.head [ y ])) (builtins.seq y (f y)) (f { b = 3; }) ]
