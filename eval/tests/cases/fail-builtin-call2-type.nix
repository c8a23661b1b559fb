# A builtin given both arguments at once reports a bad one where the application is.
let two = 1 + 1; in builtins.sub two "b"
