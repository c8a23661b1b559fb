let f = builtins.match; s = throw "the string second"; in f "(" s
