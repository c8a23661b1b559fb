//! Nix formats: nixbase32, hashes, store paths, derivations, NAR, narinfo. Pure, no I/O.
