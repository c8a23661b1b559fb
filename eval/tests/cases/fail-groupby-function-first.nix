builtins.groupBy [ ] (throw "the list second")
