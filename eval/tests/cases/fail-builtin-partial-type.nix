# The error of a partial application surfaces when it is fully applied.
let f = builtins.substring "x"; in f 1 "abc"
