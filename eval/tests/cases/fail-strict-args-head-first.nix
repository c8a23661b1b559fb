# A call forces its head before its arguments, also when the head is named as a
# builtin that would compute the argument at the call.
let
  isAttrs = throw "the head";
in
isAttrs (throw "the argument")
