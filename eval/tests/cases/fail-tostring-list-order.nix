toString [ 1 { } (throw "later") ]
