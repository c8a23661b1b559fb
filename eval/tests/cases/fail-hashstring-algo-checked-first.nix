let h = builtins.hashString "md7"; in h (throw "the string second")
