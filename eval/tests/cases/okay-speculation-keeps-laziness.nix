# Arithmetic arguments computed early must not change what laziness can observe:
# errors in unused arguments never surface, and used ones still give their values.
let
  big = 9223372036854775807;
  k = x: 1;
  n = 5;
  t = builtins.tryEval;
in [
  (k (n / 0))
  (k (big + n))
  (k (big * 2 - 1))
  (k (n < "a"))
  ((x: x) (n * 3 + 1))
  ((x: x) (n / 2))
  ((x: x) (n + 0.5))
  ((x: x) (n - 7 < 0))
  (t ((x: x) (throw "late" + n))).success
  (let u = throw "unused"; in k (u + 1))
]
