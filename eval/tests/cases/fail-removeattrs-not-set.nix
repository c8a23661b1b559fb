removeAttrs [ ] (throw "names")
