#!/usr/bin/env bash
# OT-CFM with the OT batch larger than the SGD batch and with plan reuse (coupling::ot_pool,
# `--ot-batch`, `--ot-passes`) against the in-step coupling and independent flow matching, on
# grid-25 at the CLI's default budget, seeds 0..SEEDS-1. Prints one row a run: MMD² at 1, 2, 4
# and 100 Euler steps, normalised straightness S2 of 100-step trajectories, and the coupling's
# share of training time. Usage: bench/ot_pool.sh [BUILD_DIR] [SEEDS] [DATASET]
set -euo pipefail
build=${1:-build/release}
seeds=${2:-3}
dataset=${3:-grid25}
cli=$build/examples/idemgen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-34s %4s %9s %9s %9s %9s %7s %8s %7s\n' config seed mmd2@1 mmd2@2 mmd2@4 mmd2@100 S2 train_s coup%
run() {
  local name=$1 seed=$2
  shift 2
  "$cli" train --method fm --dataset "$dataset" --seed "$seed" --checkpoint-every 0 --out "$work/$name-$seed" "$@" \
    >/dev/null 2>&1
  python3 - "$work/$name-$seed/metrics.json" "$name" "$seed" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
euler = {r["steps"]: r["mmd2"] for r in m["nfe_table"] if r["sampler"] == "euler"}
print(f'{sys.argv[2]:<34} {sys.argv[3]:>4} {euler[1]:9.4f} {euler[2]:9.4f} {euler[4]:9.4f} {euler[100]:9.4f} '
      f'{m["straightness"]["p2_normalized"]:7.4f} {m["train_seconds"]:8.1f} '
      f'{100 * m["coupling_seconds"] / m["train_seconds"]:6.1f}%')
PY
}
for seed in $(seq 0 $((seeds - 1))); do
  run independent "$seed"
  run "ot in-step (N=512)" "$seed" --coupling ot
  run "ot --ot-batch 2048 (K=4)" "$seed" --coupling ot --ot-batch 2048
  run "ot --ot-passes 4 (K=1, P=4)" "$seed" --coupling ot --ot-passes 4
  run "sinkhorn --ot-batch 2048 (K=4)" "$seed" --coupling sinkhorn --ot-batch 2048
done
