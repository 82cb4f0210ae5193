#!/usr/bin/env bash
# The SIGN runs of docs/RESULTS.md ("SIGN on grid-25"): SIGN with the analytic grid-25 teacher at
# the CLI's default budget (4 000 steps) over seeds 0–2 at sigma_max 5 and at EDM's 80, a
# sigma_max sweep (seed 0), the teacher-free (empirical) variant and Alg. 1's printed idempotence
# routing, beside NAIGN and OT-coupled NAIGN (M = 2N) on the same budget and seeds. Each run is one
# `idemgen train` into out/sign/NAME; the table at the end is read from the runs' metrics.json.
#   examples/sign_runs.sh [--table-only]
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/sign
source examples/run_common.sh
if [[ "${1:-}" != "--table-only" ]]; then
  build_cli
  for seed in 0 1 2; do
    run sign_sm5_s$seed --method sign --teacher mixture:grid25 --sigma-max 5 --seed $seed
    run sign_sm80_s$seed --method sign --teacher mixture:grid25 --sigma-max 80 --seed $seed
    run naign_s$seed --method naign --dataset grid25 --seed $seed
    run otnaign_r2_s$seed --method naign --coupling ot --ot-ratio 2 --dataset grid25 --seed $seed
  done
  for sm in 3 10 20 40; do run sign_sm${sm}_s0 --method sign --teacher mixture:grid25 --sigma-max $sm --seed 0; done
  run sign_empirical_sm5_s0 --method sign --teacher empirical --sigma-max 5 --seed 0
  run sign_printed_sm5_s0 --method sign --teacher mixture:grid25 --idem printed --sigma-max 5 --seed 0
  run sign_nodenoise_sm5_s0 --method sign --teacher mixture:grid25 --denoise-weight 0 --sigma-max 5 --seed 0
fi
python3 - "$out" <<'PY'
import json, sys, glob, os
for path in sorted(glob.glob(sys.argv[1] + "/*/metrics.json")):
    m = json.load(open(path)); name = os.path.basename(os.path.dirname(path))
    q = m["iterates"][0]
    line = (f"{name}: f(z) MMD² {q['mmd2']:.4g}, modes {q['modes_hit']}/{q['modes']} (balanced {q['modes_balanced']}), "
            f"high quality {q['high_quality']:.3g}; f(f(z)) {m['iterates'][1]['mmd2']:.4g}")
    if "multistep" in m:
        line += "; Alg. 3 " + ", ".join(f"NFE {r['nfe']} {r['mmd2']:.4g} ({r['modes_hit']}/{r['modes_balanced']})"
                                        for r in m["multistep"])
    print(line + f"; idem {m['idempotence_error']:.3g}, rec {m['reconstruction_error']:.3g}, train {m['train_seconds']:.0f} s")
PY
