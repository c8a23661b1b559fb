# removeAttrs forces the names in order: the integer fails before the later throw.
removeAttrs { a = 1; } [ "a" 1 (throw "later") ]
