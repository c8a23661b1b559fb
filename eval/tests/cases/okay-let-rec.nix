let a = b + 1; b = 2; f = n: if n == 0 then 0 else 1 + f (n - 1); in [ a (f 100) (rec { x = y; y = 3; }).x ]
