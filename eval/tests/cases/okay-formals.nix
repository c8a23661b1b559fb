let f = { a, b ? a * 10, ... }@args: [ a b (args ? c) ]; in [ (f { a = 1; }) (f { a = 2; b = 3; c = 4; }) ]
