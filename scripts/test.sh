#!/usr/bin/env bash
# Builds and runs every test (CTest). Installs missing Debian packages first.
#   scripts/test.sh             the tests of the file readers and of bad input under ASan + UBSan
#                               first (test_checkpoint, test_checkpoint_layout, test_errors, in
#                               build/sanitize-readers: a few minutes), then the whole suite in
#                               build/test (Release); CI runs this
#   scripts/test.sh --sanitize  the whole suite under ASan + UBSan (float-cast-overflow too, every
#                               finding fatal), in build/sanitize, CPU only; several times slower
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
sanitized() {  # sanitized DIR CTEST_REGEX [TARGET...]
  local dir=$1 regex=$2
  shift 2
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=ON -DIDEMGEN_BUILD_EXAMPLES=ON \
        -DIDEMGEN_BUILD_BENCH=OFF -DIDEMGEN_WITH_CUDA=OFF -DIDEMGEN_SANITIZE=ON
  if [[ $# -gt 0 ]]; then cmake --build "$dir" -j 2 --target "$@"; else cmake --build "$dir" -j 2; fi
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir "$dir" --output-on-failure --no-tests=error -j 2 -R "$regex"
}
if [[ "${1:-}" == "--sanitize" ]]; then
  sanitized build/sanitize "."
  exit
fi
[[ $# -eq 0 ]] || { echo "test.sh: unknown option $1 (expected --sanitize or nothing)" >&2; exit 2; }
scripts/install-deps.sh --torch  # the PyTorch loading test; skipped without it
# The file readers and the library's bad-input errors under the sanitizers (the program's own
# tests under them too would take CI 9 minutes more; scripts/test.sh --sanitize runs them all).
sanitized build/sanitize-readers '^(test_checkpoint|test_checkpoint_layout|test_errors):' \
          test_checkpoint test_checkpoint_layout test_errors
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=ON \
      -DIDEMGEN_BUILD_EXAMPLES=ON -DIDEMGEN_BUILD_BENCH=OFF
cmake --build build/test -j 2
ctest --test-dir build/test --output-on-failure -j 2
