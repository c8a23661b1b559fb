# A partial application's strict argument is forced before one passed later, also
# when that one could be computed at the call (the head is named as a builtin).
let
  add = builtins.add (throw "the held argument");
in
builtins.seq add (add (throw "the later argument") 1)
