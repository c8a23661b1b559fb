builtins.genericClosure { startSet = [ { key = "a"; } { key = "b"; } { key = 1; } ]; operator = _: [ ]; }
