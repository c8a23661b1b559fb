builtins.zipAttrsWith (throw "the function first") (throw "the list second")
