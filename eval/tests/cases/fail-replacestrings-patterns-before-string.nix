builtins.replaceStrings [ (throw "a pattern first") ] [ "b" ] (throw "the string last")
