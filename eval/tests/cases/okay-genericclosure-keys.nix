# Keys hashed while they are all strings or all ints, then compared in order once a key
# of another kind comes: 1 and 1.0 are the same key; duplicates are dropped.
let
  gc = keys: map (x: x.key) (builtins.genericClosure {
    startSet = map (k: { key = k; }) keys;
    operator = _: [ ];
  });
in [
  (gc [ "b" "a" "b" "c" "a" ])
  (gc [ 3 1 3 2 ])
  (gc [ 1 2 1.0 2.5 2 ])
  (gc [ 1.0 1 ])
  (gc [ [ 1 "a" ] [ 1 "a" ] [ 1 "b" ] ])
  (gc [ "x${toString 1}" "x1" ])
]
