builtins.fetchTree { type = "github"; owner = "o"; repo = "r"; revCount = -3; }
