builtins.partition { } (throw "the list second")
