# `sort lessThan` of values `<` cannot order fails as the call itself would.
builtins.sort builtins.lessThan [ 2 "a" 1 ]
