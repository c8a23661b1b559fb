# Builtins stepped as machines: results, and which errors tryEval catches.
let
  t = x: (builtins.tryEval x).success;
  lazy = x: builtins.head [ x ];
  gc = builtins.genericClosure {
    startSet = lazy [ (lazy { key = lazy 3; }) { key = 1; } ];
    operator = e:
      if e.key < 5 then [ { key = e.key + 2; } (lazy { key = lazy (e.key + 1); }) ] else [ ];
  };
  gcLists = builtins.genericClosure {
    startSet = [ { key = [ 1 (lazy [ 2 ]) ]; n = 0; } ];
    operator = e:
      if e.n < 4 then [
        { key = [ 1 [ (lazy (builtins.div e.n 2)) ] ]; n = e.n + 1; }
        { key = lazy [ 1 (lazy [ 2 3 ]) ]; n = e.n + 1; }
        { key = [ 0 [ (lazy e.n) ] ]; n = e.n + 1; }
      ] else [ ];
  };
  shared = let l = [ (lazy 1) (lazy 2) ]; in { a = l; b = l; c = { d = l; }; };
in {
  gc = map (e: e.key) gc;
  gcLists = map (e: e.n) gcLists;
  remove = removeAttrs (lazy { a = 1; b = 2; c = 3; }) (lazy [ (lazy "a") "c" "z" ]);
  removeNone = removeAttrs { a = 1; } [ ];
  removeThrowName = t (removeAttrs { a = 1; } [ "a" (throw "x") ]);
  cat = builtins.catAttrs (lazy "a") (lazy [ { a = 1; } (lazy { b = 2; }) { a = lazy 3; } ]);
  seq = builtins.deepSeq (lazy shared) "ok";
  seqThrow = t (builtins.deepSeq { a = [ 1 { b = lazy (throw "x"); } ]; } 1);
  seqLazyResult = builtins.deepSeq [ ] (lazy 5);
  seqRec = builtins.deepSeq (let r = { inherit r; x = lazy 1; }; in r) "rec";
}
