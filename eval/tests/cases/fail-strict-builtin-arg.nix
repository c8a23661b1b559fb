# A strict argument computed at the call fails there, with its own message.
map (x: x) (throw "the list failed")
