builtins.replaceStrings [ "a" ] 1 (throw "the string last")
