# toString, stringLength and concatStringsSep coerce through one machine.
let
  lazy = x: builtins.head [ x ];
  t = x: (builtins.tryEval x).success;
  drv = { outPath = lazy "/out"; };
  ts = { __toString = self: lazy "ts-${self.n}"; n = "1"; };
  nested = { __toString = _: { outPath = lazy ts; }; };
in {
  lists = toString (lazy [ 1 [ (lazy 2) [ "a" null true false ] ] 1.5 drv ts nested [ [ 3 ] ] ]);
  empty = toString [ ];
  len = builtins.stringLength (lazy drv);
  lenTs = builtins.stringLength ts;
  lenStr = builtins.stringLength (lazy "abc");
  sep = builtins.concatStringsSep (lazy ", ") (lazy [ "a" (lazy "b") drv ts nested (lazy drv) ]);
  sepEmpty = builtins.concatStringsSep "-" [ ];
  sepOne = builtins.concatStringsSep "-" [ (lazy ts) ];
  sepThrow = t (builtins.concatStringsSep "," [ "a" (throw "x") ]);
  lenThrow = t (builtins.stringLength { outPath = throw "x"; });
  toStringThrow = t (toString [ 1 [ (throw "x") ] ]);
}
