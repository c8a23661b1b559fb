builtins.filterSource 1 ../src
