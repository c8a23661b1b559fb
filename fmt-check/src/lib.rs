//! Formatter for the official Nix style (RFC 166) on the rowan syntax tree.
