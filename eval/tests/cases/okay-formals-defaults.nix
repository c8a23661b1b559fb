# Defaults see the other formals, passed or defaulted, and the call's own scope.
let
  f = { a ? b + 1, b ? 2, c ? null, d ? c, e ? { x = e.y; y = a; } }: [ a b c d e.x ];
in
[ (f { }) (f { b = 5; }) (f { c = 3; }) (f { c = null; d = 1; }) (f { e = { x = 0; }; }) ]
