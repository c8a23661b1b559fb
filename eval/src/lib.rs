//! Nix source to values: parser front end, compiler, VM, builtins. Knows nothing of stores, builds, editors or protocols.
