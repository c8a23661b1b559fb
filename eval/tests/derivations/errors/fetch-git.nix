builtins.fetchGit "https://example.org/x.git"
