let x = ; in x
