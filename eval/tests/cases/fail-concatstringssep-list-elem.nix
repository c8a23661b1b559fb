builtins.concatStringsSep "," [ "a" [ ] (throw "later") ]
