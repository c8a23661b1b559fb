(builtins.mapAttrs (n: v: throw "bad ${n}") { k = 1; }).k
