# C++ Nix forces every element before the first comparison: a comparator that looks
# at nothing still meets the failing element.
builtins.length (builtins.sort (a: b: false) [ 1 (throw "sort forces every element") 3 ])
