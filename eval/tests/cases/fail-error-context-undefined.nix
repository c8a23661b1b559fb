builtins.addErrorContext "while ${undefinedName}" 1
