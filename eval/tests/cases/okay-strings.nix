let n = "world"; in [ "hello ${n}" ''
  indented
    ${n}
'' ("a" + "b") (toString 42) (toString [ 1 "x" null ]) ]
