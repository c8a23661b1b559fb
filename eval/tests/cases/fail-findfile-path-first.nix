builtins.findFile 1 (throw "the name second")
