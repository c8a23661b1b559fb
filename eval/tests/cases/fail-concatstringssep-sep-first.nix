# concatStringsSep forces the separator before the list.
let
  sep = throw "separator first";
  l = throw "the list";
in
builtins.concatStringsSep sep l
