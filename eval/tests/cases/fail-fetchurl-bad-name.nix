# A URL whose last component is no store path name needs a name.
builtins.fetchurl { url = "https://example.com/a~b"; }
