# catAttrs forces the name before the list.
let
  name = throw "name first";
  sets = throw "the list";
in
builtins.catAttrs name sets
