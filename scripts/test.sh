#!/usr/bin/env bash
# Builds and runs every test (CTest). Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=ON \
      -DIDEMGEN_BUILD_EXAMPLES=ON -DIDEMGEN_BUILD_BENCH=OFF
cmake --build build/test -j 2
ctest --test-dir build/test --output-on-failure -j 2
