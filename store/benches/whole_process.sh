#!/usr/bin/env bash
# Whole-process ingest timing: `tvix store import` against `nix-store --add` on the
# same trees, in one run. Usage: store/benches/whole_process.sh [path/to/tvix]
# (default: target/release/tvix; build it with `cargo build --release -p tvix`).
set -euo pipefail
tvix=${1:-target/release/tvix}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import os, sys
w = sys.argv[1]
os.makedirs(f"{w}/large")
for i in range(4):
    with open(f"{w}/large/f{i}", "wb") as f:
        f.write(os.urandom(64 << 20))
for i in range(5000):
    d = f"{w}/small/d{i % 50}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i}", "wb") as f:
        f.write(os.urandom(100 + i % 4000))
PY
cat "$work"/large/* > /dev/null

t() { # label, command...
  local label=$1; shift
  local s e
  s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
  printf '%-40s %6.2f s\n' "$label" "$(echo "$e - $s" | bc)"
}

for tree in large small; do
  t "tvix import $tree (fresh redb store)" "$tvix" store --store "redb://$work/s-$tree" import "$work/$tree"
  t "tvix import $tree again (unchanged)" "$tvix" store --store "redb://$work/s-$tree" import "$work/$tree"
  t "tvix import $tree (memory://)" "$tvix" store --store memory:// import "$work/$tree"
  if command -v nix-store > /dev/null; then
    t "nix-store --add $tree" nix-store --add "$work/$tree"
  fi
  p=$("$tvix" store --store "redb://$work/s-$tree" ls | head -1)
  t "tvix export-nar $tree" "$tvix" store --store "redb://$work/s-$tree" export-nar "$p"
done
t "sha256sum of large" sha256sum "$work"/large/*
command -v b3sum > /dev/null && t "b3sum of large" b3sum "$work"/large/*
