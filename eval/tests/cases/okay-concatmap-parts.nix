# concatMap and concatLists join their parts in order, whether a part is a fresh list
# (moved) or one held elsewhere too (copied); empty parts are skipped, a lone part is
# the answer itself.
let
  shared = [ 1 2 ];
  big = builtins.genList (i: i) 40;
in
[
  (builtins.concatMap (x: [ x (x * 10) ]) [ 1 2 3 ])
  (builtins.concatMap (x: if x == 2 then shared else [ x ]) [ 1 2 3 2 ])
  (builtins.concatMap (x: [ ]) [ 1 2 ])
  (builtins.concatMap (x: if x == 1 then big else [ ]) [ 0 1 2 ])
  (builtins.length (builtins.concatMap (x: big) big))
  (builtins.concatLists [ [ ] shared [ ] [ 3 ] shared ])
  (builtins.concatLists [ [ ] [ ] ])
  shared
]
