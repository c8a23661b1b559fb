builtins.foldl' (throw "function first") 0 (throw "list second")
