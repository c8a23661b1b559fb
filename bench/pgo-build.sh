#!/usr/bin/env bash
# A release build of `tvix` optimised with a profile of training runs (profile-guided
# optimisation), for release binaries and their benchmark figures:
#
#     bench/pgo-build.sh            # then: target/pgo/use/release/tvix
#
# The training runs are kept apart from the benchmark workloads (../shared/workloads/bench
# and the three nixpkgs-lib tests tvix-bench times): nixpkgs lib's own module tests
# (lib/tests/modules.sh, 231 small evaluations of the module system), the language test
# corpus (../shared/nix-lang-tests) and our eval cases. Needs llvm-profdata of the
# toolchain's LLVM (`rustup component add llvm-tools`).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared
work=$root/target/pgo
host=$(rustc -vV | sed -n 's/^host: //p')
profdata=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata
if [ ! -x "$profdata" ]; then
    echo "pgo-build: $profdata is missing; install it with: rustup component add llvm-tools" >&2
    exit 1
fi
for d in "$shared/workloads/nixpkgs-lib/lib/tests" "$shared/nix-lang-tests"; do
    [ -d "$d" ] || { echo "pgo-build: $d is missing (../shared beside the checkout)" >&2; exit 1; }
done

rm -rf "$work/raw"
mkdir -p "$work/raw"
cd "$root"
RUSTFLAGS="-Cprofile-generate=$work/raw" cargo build --release -p tvix --target-dir "$work/gen"
tvix=$work/gen/release/tvix

# Training. Failures are expected (fail cases, checks of error messages): only the
# profile matters here. `%4m`: four profile files merged as they are written.
export LLVM_PROFILE_FILE="$work/raw/tvix-%4m.profraw"
echo "pgo-build: training (nixpkgs lib module tests, language corpus, eval cases)"
PATH="$root/tests/shim:$PATH" TVIX_BIN=$tvix bash "$shared/workloads/nixpkgs-lib/lib/tests/modules.sh" >/dev/null 2>&1 || true
(cd "$shared/nix-lang-tests" && for f in eval-okay-*.nix; do "$tvix" eval --strict "$f" >/dev/null 2>&1 || true; done)
(cd "$root/eval/tests/cases" && for f in *.nix; do "$tvix" eval --strict "$f" >/dev/null 2>&1 || true; done)
unset LLVM_PROFILE_FILE

"$profdata" merge -o "$work/tvix.profdata" "$work/raw"
RUSTFLAGS="-Cprofile-use=$work/tvix.profdata" cargo build --release -p tvix --target-dir "$work/use"
echo "pgo-build: built $work/use/release/tvix"
