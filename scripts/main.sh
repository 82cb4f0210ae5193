#!/usr/bin/env bash
# The main job: build the examples and run the default demo, writing its outputs under out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=OFF \
      -DIDEMGEN_BUILD_EXAMPLES=ON > /dev/null
cmake --build build/release -j 2 --target fit_mlp
build/release/examples/fit_mlp --out out/fit_mlp "$@"
