# Call environments captured by closures and thunks outlive their calls; their blocks
# are reused for later calls once freed. Each captured value must stay its own.
let
  mk = x: y: { get = _: x + y; lazy = x * y; };
  many = builtins.genList (i: mk i (i + 1)) 2000;
  # Drop most of them, then make more calls that take the freed blocks.
  kept = builtins.filter (s: s.lazy / 100 * 100 == s.lazy) many;
  again = builtins.genList (i: (mk (i * 3) 1).get null) 2000;
  big = a: b: c: d: e: [ a b c d e (_: a + e) ];
in
[
  (builtins.length kept)
  (builtins.foldl' (acc: s: acc + s.get null + s.lazy) 0 kept)
  (builtins.foldl' (a: b: a + b) 0 again)
  (let l = big 1 2 3 4 5; in (builtins.elemAt l 5) null)
]
