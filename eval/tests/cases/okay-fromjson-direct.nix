# fromJSON: numbers, nesting, a key given twice (the last wins), escapes.
builtins.fromJSON ''{ "b": [1, -2, 3.5, 1e3, true, null, "x\u00e9\n"], "a": { "z": {}, "y": [] }, "b2": 1, "b2": 2 }''
