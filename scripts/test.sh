#!/usr/bin/env bash
# Builds and runs every test (CTest). Installs missing Debian packages first.
#   scripts/test.sh             the suite, in build/test (Release)
#   scripts/test.sh --sanitize  the suite under ASan + UBSan (float-cast-overflow too, every finding
#                               fatal), in build/sanitize, CPU only; several times slower
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[[ "${1:-}" == "--sanitize" ]] || scripts/install-deps.sh --torch  # the PyTorch loading test; skipped without it
if [[ "${1:-}" == "--sanitize" ]]; then
  cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=ON -DIDEMGEN_BUILD_EXAMPLES=ON \
        -DIDEMGEN_BUILD_BENCH=OFF -DIDEMGEN_WITH_CUDA=OFF -DIDEMGEN_SANITIZE=ON
  cmake --build build/sanitize -j 2
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build/sanitize --output-on-failure -j 2
  exit
fi
[[ $# -eq 0 ]] || { echo "test.sh: unknown option $1 (expected --sanitize or nothing)" >&2; exit 2; }
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=ON \
      -DIDEMGEN_BUILD_EXAMPLES=ON -DIDEMGEN_BUILD_BENCH=OFF
cmake --build build/test -j 2
ctest --test-dir build/test --output-on-failure -j 2
