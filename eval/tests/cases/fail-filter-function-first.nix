builtins.filter "not a function" []
