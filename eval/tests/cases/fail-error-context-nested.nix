# Each `addErrorContext` an error passes through adds its message to the trace,
# innermost first, computed in the scope of the call (not of a `let` inside it).
let
  countDown = n:
    if n == 0 then throw "kaboom"
    else builtins.addErrorContext "while counting down; n = ${toString n}"
      (let n = "shadowed"; in "x" + countDown 0);
in
builtins.addErrorContext "outermost" (countDown 2)
