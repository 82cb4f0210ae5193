#!/usr/bin/env bash
# The coupling runs of docs/RESULTS.md ("Couplings"): OT-coupled NAIGN on grid-25 over seeds 0–9 at
# the CLI's default budget, its M = 2N variant (seeds 0–9), and flow matching with the
# independent and the exact OT coupling on grid-25, moons and 8 gaussians. Each run is one
# `idemgen train` into out/couplings/NAME; the table at the end is read from the runs' metrics.json.
#   examples/coupling_runs.sh [--table-only]
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/couplings
source examples/run_common.sh
if [[ "${1:-}" != "--table-only" ]]; then
  build_cli
  for seed in 0 1 2 3 4 5 6 7 8 9; do
    run otnaign_s$seed --method naign --coupling ot --dataset grid25 --seed $seed
  done
  for seed in 0 1 2 3 4 5 6 7 8 9; do  # M = 2N: a rectangular assignment
    run otnaign_r2_s$seed --method naign --coupling ot --ot-ratio 2 --dataset grid25 --seed $seed
  done
  for ds in grid25 moons 8gaussians; do
    for c in independent ot; do run fm_${c}_${ds}_s0 --method fm --coupling $c --dataset $ds --seed 0; done
  done
fi
python3 - "$out" <<'PY'
import json, sys, glob, os
for path in sorted(glob.glob(sys.argv[1] + "/*/metrics.json")):
    m = json.load(open(path)); name = os.path.basename(os.path.dirname(path))
    if "iterates" in m:
        q = m["iterates"][0]
        print(f"{name}: MMD² {q['mmd2']:.4g}, modes {q.get('modes_hit')}/{q.get('modes')} (balanced {q.get('modes_balanced')}), "
              f"sliced W2 {q['sliced_w2']:.3g}, train {m['train_seconds']:.0f} s")
    else:
        nfe = {(r['sampler'], r['nfe']): r['mmd2'] for r in m['nfe_table']}
        s = m['straightness']
        print(f"{name}: MMD² at Euler NFE 1/2/4/100: " + "/".join(f"{nfe.get(('euler', k), float('nan')):.4g}" for k in (1, 2, 4, 100))
              + f"; straightness p2 {s['p2']:.4g} (normalized {s['p2_normalized']:.4g}); train {m['train_seconds']:.0f} s")
PY
