builtins.fetchTarball { url = "https://example.com/x.tar.gz"; md5 = "x"; }
