# A formal without a default that is missing is reported before a name that is
# none of the formals, as Nix does.
({ a, b }: a) { c = 1; }
