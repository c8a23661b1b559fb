# `addErrorContext` reached as a value (not compiled in place) adds its message too.
let ctx = builtins.addErrorContext; in
ctx "from a value" (1 + "a")
