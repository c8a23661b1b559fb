# toJSON refuses a string that is not UTF-8 (the raw byte comes from the file).
builtins.toJSON { a = "ok é"; }
