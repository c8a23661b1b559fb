# foldl' with an operator on integers, which it answers itself in batches: long lists
# (several batches), a float in the middle (handed to the VM mid-batch), elements and
# a start behind thunks, a Boolean result, and an operator it cannot answer.
let
  xs = builtins.genList (i: i * 7 - 1000) 1000;
  mixed = builtins.genList (i: if i == 450 then 0.5 else i) 900;
in [
  (builtins.foldl' (a: b: a + b) 0 xs)
  (builtins.foldl' (a: b: a - b) (builtins.length xs) (map (x: x * 3) xs))
  (builtins.foldl' (a: b: a + b) 0 mixed)
  (builtins.foldl' (a: b: b * a) 1 (builtins.genList (i: 1 + i - i / 3 * 3) 30))
  (builtins.foldl' (a: b: a < b) 0 [ 5 ])
  (builtins.foldl' (a: b: a + b) 0 [ ])
  (builtins.foldl' (a: b: a ++ [ b ]) [ ] [ 1 2 3 ])
]
