builtins.zipAttrsWith 1 [ ]
