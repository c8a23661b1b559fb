[ (builtins.elemAt [ 1 2 3 ] 1) (builtins.elemAt [ (x: x) ] 0 5) (let l = [ "a" "b" ]; in builtins.elemAt l (builtins.length l - 1)) (builtins.tryEval (builtins.elemAt [ 1 ] (throw "i"))).success ]
