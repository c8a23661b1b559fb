# An empty list needs no element forced, but the comparator must still be a function.
builtins.sort 1 [ ]
