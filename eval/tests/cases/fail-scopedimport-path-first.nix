builtins.scopedImport (throw "the scope second") (throw "the path first")
