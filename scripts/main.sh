#!/usr/bin/env bash
# The main job: build the idemgen program and train NAIGN on grid-25 with the demo's defaults
# (a few minutes on 2 cores), writing samples, pictures, log, metrics and checkpoint to
# out/naign_grid25/. Extra arguments go to `idemgen train` (see `idemgen train --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=OFF \
      -DIDEMGEN_BUILD_EXAMPLES=ON > /dev/null
cmake --build build/release -j 2 --target idemgen_cli
build/release/examples/idemgen train --method naign --dataset grid25 --eval-every 250 \
  --out out/naign_grid25 "$@"
