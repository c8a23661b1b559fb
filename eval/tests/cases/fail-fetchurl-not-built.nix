# A valid argument gets as far as the missing fetcher.
builtins.fetchurl { url = "https://example.com/x.tar.gz"; name = "x"; sha256 = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; }
