# A file that is not UTF-8: raw bytes in string literals are kept as they are.
let
  s = "aÿbÃ(";
  t = ''xş
  '';
  u = "${s}ô¾€";
in
[ (builtins.stringLength s) (builtins.hashString "sha256" s) (builtins.stringLength t) (builtins.hashString "md5" t) (builtins.stringLength u) (builtins.hashString "sha1" u) ]
