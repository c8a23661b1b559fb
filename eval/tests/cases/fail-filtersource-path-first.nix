builtins.filterSource (throw "the filter second") (throw "the path first")
