#!/usr/bin/env bash
# The main job: build the idemgen program and train the one-step model that won grid-25 at one
# network evaluation in the coupling benchmark (docs/COUPLINGS.md, on every seed): LMM (lines
# matching models) on 200 000 stored pairs of the mixture's exact teacher ODE, 16 000 steps, as
# the benchmark's full budget does (about two minutes on 2 cores). Writes the pairs to
# out/grid25_teacher_pairs.safetensors and the run (samples, pictures, log, metrics, checkpoint)
# to out/lmm_grid25/, then prints a one-screen summary. Extra arguments go to `idemgen train`
# (see `idemgen train --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=OFF \
      -DIDEMGEN_BUILD_EXAMPLES=ON > /dev/null
cmake --build build/release -j 2 --target idemgen_cli
cli=build/release/examples/idemgen
mkdir -p out
[[ -f out/grid25_teacher_pairs.safetensors ]] ||
  "$cli" pairs --teacher mixture:grid25 --n 200000 --seed 0 --out out/grid25_teacher_pairs.safetensors
"$cli" train --method lmm --dataset grid25 --activation silu --steps 16000 \
  --pairs out/grid25_teacher_pairs.safetensors --eval-every 1000 --force --out out/lmm_grid25 "$@"
python3 scripts/run-summary.py out/lmm_grid25
