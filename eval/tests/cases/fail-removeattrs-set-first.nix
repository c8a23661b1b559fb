# removeAttrs forces the set before the list of names.
let
  set = throw "set first";
  names = throw "the names";
in
removeAttrs set names
