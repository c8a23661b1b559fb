# A thunk whose code returns another thunk unevaluated has it forced by its frame's
# return (no `Force` of its own): a cycle of such aliases is still infinite recursion.
let
  a = b;
  b = { c = a; }.c;
in
a
