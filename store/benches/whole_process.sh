#!/usr/bin/env bash
# Whole-process ingest timing, in one run: `tvix store import` of a tree of many
# small files and of a few large files, against `nix-store --add` of the same
# trees and against plain sha256sum (and b3sum, if installed) of the large files;
# re-import of the unchanged trees, which must store nothing new (checked with the
# counts `tvix store verify` prints); import through a gRPC daemon on loopback
# (a fresh redb store behind it), first and again; NAR export.
#
# Usage: store/benches/whole_process.sh [path/to/tvix]
# (default: target/release/tvix; build it with `cargo build --release`).
# Each line shows wall seconds and CPU seconds (user+system, all threads); on a
# machine loaded by other work, CPU seconds are the steadier figure. For the
# grpc+http:// imports, CPU is the client's only (the daemon is another process).
set -euo pipefail
tvix=${1:-target/release/tvix}
work=$(mktemp -d)
daemon=
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT

# Fresh random contents every run, so nix-store --add really adds.
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
cat "$work"/large/* "$work"/small/*/* > /dev/null

t() { # label, command...
  local label=$1; shift
  /usr/bin/time -o "$work/time" -f '%e %U %S' "$@" > /dev/null
  read -r wall user sys < "$work/time"
  printf '%-44s %7.2f s wall %7.2f s CPU\n' "$label" "$wall" "$(echo "$user + $sys" | bc)"
}

counts() { # store -> the verify summary line
  "$tvix" store --store "redb://$1" verify 2>&1 | grep -o 'checked .*'
}

echo "large: 4 files of 64 MiB; small: 5000 files of 100..4100 bytes in 50 dirs"
t "sha256sum of large" sha256sum "$work"/large/*
if command -v b3sum > /dev/null; then t "b3sum of large" b3sum "$work"/large/*; fi
for tree in large small; do
  s="$work/s-$tree"
  t "tvix store import $tree (fresh redb store)" "$tvix" store --store "redb://$s" import "$work/$tree"
  before=$(counts "$s")
  t "tvix store import $tree again (unchanged)" "$tvix" store --store "redb://$s" import "$work/$tree"
  after=$(counts "$s")
  if [ "$before" = "$after" ]; then
    echo "  re-import stored nothing new: $after"
  else
    echo "  RE-IMPORT CHANGED THE STORE: before: $before; after: $after"
    exit 1
  fi
  t "tvix store import $tree (memory://)" "$tvix" store --store memory:// import "$work/$tree"
  "$tvix" store --store "redb://$work/d-$tree" daemon --listen 127.0.0.1:0 > "$work/daemon.out" &
  daemon=$!
  for _ in $(seq 200); do grep -q '^listening on' "$work/daemon.out" && break; sleep 0.05; done
  addr=$(sed -n 's/^listening on //p' "$work/daemon.out")
  t "tvix store import $tree (grpc+http://)" "$tvix" store --store "grpc+http://$addr" import "$work/$tree"
  t "tvix store import $tree again (grpc+http://)" "$tvix" store --store "grpc+http://$addr" import "$work/$tree"
  kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=
  if command -v nix-store > /dev/null; then
    t "nix-store --add $tree" nix-store --add "$work/$tree"
    ours=$("$tvix" store --store "redb://$s" ls | head -1)
    theirs=$(nix-store --add "$work/$tree")
    [ "$ours" = "$theirs" ] || { echo "  STORE PATHS DIFFER: $ours vs $theirs"; exit 1; }
  else
    echo "  (nix-store not installed: no comparison)"
  fi
  p=$("$tvix" store --store "redb://$s" ls | head -1)
  t "tvix store export-nar $tree" "$tvix" store --store "redb://$s" export-nar "$p"
done
