builtins.parseFlakeRef "github:o/r?color=blue"
