builtins.foldl' 1 0 (throw "the list second")
