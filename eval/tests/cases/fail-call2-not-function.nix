let f = a: 1; in f 2 3
