builtins.getAttr 1 (throw "the set second")
