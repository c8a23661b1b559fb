# Deep equality compares list elements in order, depth first: the nested list's second
# element is forced (and fails) before the outer list's second element.
let l = builtins.genList (n: n) 3; in
[ [ 1 (throw "first") ] (throw "second") l ] == [ [ 1 2 ] (throw "third") l ]
