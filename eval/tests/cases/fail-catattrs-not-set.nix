# catAttrs forces the sets in order: the integer fails before the later throw.
builtins.catAttrs "a" [ { a = 1; } 2 (throw "later") ]
