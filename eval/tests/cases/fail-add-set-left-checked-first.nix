let a = { x = 1; }; b = throw "the right second"; in a + b
