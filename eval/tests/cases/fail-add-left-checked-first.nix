let a = true; b = throw "the right second"; in a + b
