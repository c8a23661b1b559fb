# zipAttrsWith groups each name's values in list order: few sets, many sets with few names, and large sets.
let
  z = builtins.zipAttrsWith (n: v: [n v]);
  many = builtins.genList (i: builtins.listToAttrs (builtins.genList (j: { name = "n${toString ((i * 7 + j * 3) - (i * 7 + j * 3) / 13 * 13)}"; value = i * 100 + j; }) (i - i / 5 * 5))) 30;
  big = builtins.listToAttrs (builtins.genList (j: { name = "k${toString j}"; value = j; }) 40);
in {
  a = z [];
  b = z [ {} ];
  c = z [ { a = 1; b = 2; } ];
  d = z [ { b = 1; a = 2; } { c = 3; a = 4; } {} { a = 5; z = 6; } ];
  e = z many;
  f = z [ big { k3 = "x"; aa = 1; } big ];
  g = z (builtins.genList (i: if i - i / 2 * 2 == 0 then big else { k1 = i; zz = i; }) 12);
  h = builtins.attrNames (builtins.zipAttrsWith (n: v: throw "no") [ { x = 1; } { y = 2; } ]);
  i = builtins.zipAttrsWith (x: y: y) [ { x = 1; } { x = 2; } ];
}
