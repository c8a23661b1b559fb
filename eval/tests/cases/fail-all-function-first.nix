builtins.all 1 (throw "the list second")
