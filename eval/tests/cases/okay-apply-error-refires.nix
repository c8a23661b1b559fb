# A lazy application that failed is put back as it was: forcing it again fails again
# (a lambda, a functor set, a named application), and once it succeeds it is a value.
let
  plain = map (x: throw "p${toString x}") [ 1 ];
  functor = map { __functor = s: x: throw "f${toString x}"; } [ 2 ];
  named = builtins.mapAttrs (n: v: throw n) { k = 3; };
  try = v: builtins.tryEval v;
  ok = map (x: x + 1) [ 4 ];
in [
  (try (builtins.head plain)) (try (builtins.head plain))
  (try (builtins.head functor)) (try (builtins.head functor))
  (try named.k) (try named.k)
  ok ok
]
