#!/usr/bin/env bash
# The coupling benchmark: every method and coupling (IGN, NAIGN, OT-coupled NAIGN, SIGN, EDM, flow
# matching with the independent, exact OT, Sinkhorn and reflow couplings, LMM; and on LMM's 128-d
# toy CFM, OT-CFM, 2-RF, EDM, LMM and SIGN) on grid-25, 8 gaussians, moons and the 128-d toy,
# trained and evaluated by bench/couplings/benchmark.py into out/coupling-benchmark/ (cached by a
# hash of each run's command) and summarised in docs/COUPLINGS.md (or --doc FILE), with plots in
# docs/couplings/ (matplotlib, from .venv-bench/: skipped when the package index is unreachable).
#   scripts/coupling-benchmark.sh [--budget quick|full|tiny] [--doc FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
budget=quick doc=docs/COUPLINGS.md
while [[ $# -gt 0 ]]; do
  case $1 in
    --budget) budget=$2; shift 2 ;;
    --doc) doc=$2; shift 2 ;;
    *) echo "coupling-benchmark: unknown option $1 (expected --budget quick|full|tiny, --doc FILE)" >&2; exit 2 ;;
  esac
done
scripts/install-deps.sh --plots
plots=()
.venv-bench/bin/python -c "import matplotlib" 2>/dev/null && plots=(--plots .venv-bench/bin/python)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_TESTS=OFF -DIDEMGEN_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/release -j 2 --target idemgen_cli toy128 >&2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet 2>/dev/null || commit="$commit (with uncommitted changes)"
exec python3 bench/couplings/benchmark.py --cli build/release/examples/idemgen --toy128 build/release/examples/toy128 \
  --budget "$budget" --out "out/coupling-benchmark/$budget" --doc "$doc" --commit "$commit" "${plots[@]}"
