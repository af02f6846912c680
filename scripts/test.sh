#!/usr/bin/env bash
# Runs the whole test suite: setup when needed (idempotent), build, ctest.
#
#   scripts/test.sh               # Release build in ./build, every test
#   scripts/test.sh --sanitize    # ASan + UBSan build in ./build-asan, decoding and model tests
#   scripts/test.sh -R Parity     # extra arguments go to ctest
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SANITIZE=0
if [ "${1:-}" = "--sanitize" ]; then
  SANITIZE=1
  shift
fi

# Tests run two at a time on small machines: OpenMP workers must sleep, not spin, while
# waiting (see docs/PERFORMANCE.md), or parallel tests slow each other down many times over.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

# Packages, models and the main build (fast when everything is already there).
scripts/setup.sh

if [ "$SANITIZE" = 1 ]; then
  BUILD_DIR="$ROOT/build-asan"
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSAFESCAN_SANITIZE=ON -DSAFESCAN_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target test_core test_models test_cli safescan_cli
  # libtorch itself is not instrumented (ODR checks against it are noise); leaks are checked.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_odr_violation=0}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  exec ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 -L "core|models|cli" "$@"
fi

cmake --build "$ROOT/build" -j"$(nproc)"
exec ctest --test-dir "$ROOT/build" --output-on-failure -j2 "$@"
