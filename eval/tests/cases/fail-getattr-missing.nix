builtins.getAttr "c" { a = 1; }
