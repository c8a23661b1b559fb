builtins.genericClosure { operator = throw "op"; }
