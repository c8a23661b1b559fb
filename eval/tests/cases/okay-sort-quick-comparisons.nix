# sort with a comparator on integers, which the sort answers itself in batches: long
# lists (several batches), floats among the integers (handed to the VM mid-batch),
# integers behind thunks, and a comparator on a pair's field (never answered early).
let
  lcg = x: builtins.bitAnd (x * 1103515245 + 12345) 2147483647;
  ints = builtins.genList (i: lcg i - 1073741824) 1000;
  mixed = builtins.genList (i: if i - i / 7 * 7 == 0 then (lcg i) / 3.0 else lcg i) 500;
  lazy = map (x: x / 2) ints;
  pairs = builtins.genList (i: { k = lcg i - lcg i / 5 * 5; i = i; }) 300;
  check = l: builtins.foldl' (ok: i: ok && !(builtins.elemAt l (i + 1) < builtins.elemAt l i)) true (builtins.genList (i: i) (builtins.length l - 1));
in {
  ints = builtins.sort (a: b: a < b) ints;
  intsDesc = builtins.sort (a: b: a > b) ints;
  mixedSorted = check (builtins.sort (a: b: a < b) mixed);
  mixedHead = builtins.head (builtins.sort (a: b: a < b) mixed);
  lazy = builtins.sort (a: b: b < a) lazy;
  stable = map (p: p.i) (builtins.sort (a: b: a.k < b.k) pairs);
}
