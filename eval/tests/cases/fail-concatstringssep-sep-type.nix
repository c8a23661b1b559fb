builtins.concatStringsSep 1 (throw "the list")
