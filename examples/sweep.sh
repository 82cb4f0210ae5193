#!/usr/bin/env bash
# Runs the IGN/NAIGN experiments behind docs/RESULTS.md and prints a markdown table.
#   examples/sweep.sh [build-dir] [out-dir]      (defaults build/release, out/sweep)
# Each run is `idemgen train` with one change from the demo's defaults; runs are sequential
# (2 threads each) and skipped when their metrics.json already exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/examples/idemgen
out=${2:-out/sweep}
mkdir -p "$out"
run() {  # name, then idemgen train arguments
  local name=$1; shift
  [[ -f "$out/$name/metrics.json" ]] && return
  "$bin" train "$@" --force --out "$out/$name" > "$out/$name.stdout" 2>&1 || echo "$name failed" >&2
}
for seed in 0 1 2; do
  run naign_grid25_s$seed --method naign --dataset grid25 --seed $seed
  run ign_grid25_s$seed --method ign --dataset grid25 --seed $seed
done
run naign_grid25_lr3e-4 --method naign --dataset grid25 --lr 3e-4
run naign_grid25_m20 --method naign --dataset grid25 --imle-ratio 20
for seed in 0 1 2; do  # the paper's width at the step count that fits the 5-minute demo
  run naign_grid25_w512_s$seed --method naign --dataset grid25 --width 512 --steps 2000 --seed $seed
done
run ign_grid25_w512_s0 --method ign --dataset grid25 --width 512 --steps 2000
run naign_grid25_8000 --method naign --dataset grid25 --steps 8000
run naign_minus_grid25 --method naign-minus --dataset grid25
for seed in 0 1 2; do  # learning rate decayed to 0 over the run
  run naign_grid25_cosine_s$seed --method naign --dataset grid25 --lr-schedule cosine --seed $seed
done
run naign_grid25_cosine_8000 --method naign --dataset grid25 --lr-schedule cosine --steps 8000
run naign_grid25_cosine_lr3e-3 --method naign --dataset grid25 --lr-schedule cosine --lr 3e-3
for seed in 0 1 2; do  # fewer IMLE candidates per data point
  run naign_grid25_m1_s$seed --method naign --dataset grid25 --imle-ratio 1 --seed $seed
  run naign_grid25_m2_s$seed --method naign --dataset grid25 --imle-ratio 2 --seed $seed
  run naign_grid25_m1_warmup_s$seed --method naign --dataset grid25 --imle-ratio 1 --warmup 500 --seed $seed
  run naign_grid25_m1_cosine_s$seed --method naign --dataset grid25 --imle-ratio 1 --lr-schedule cosine --seed $seed
done
for seed in 3 4 5 6; do  # more seeds for the two M/N settings compared over seven
  run naign_grid25_s$seed --method naign --dataset grid25 --seed $seed
  run naign_grid25_m1_s$seed --method naign --dataset grid25 --imle-ratio 1 --seed $seed
done
run naign_grid25_m4 --method naign --dataset grid25 --imle-ratio 4
run naign_grid25_ema --method naign --dataset grid25 --ema 0.999
run naign_grid25_cosine_ema --method naign --dataset grid25 --lr-schedule cosine --ema 0.999
for d in 8gaussians moons; do
  run naign_$d --method naign --dataset $d
  run ign_$d --method ign --dataset $d
done
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
print("| run | modes hit | balanced | high quality | MMD² f(z) | MMD² f(f(z)) | data vs data | idem err | rec err | s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in sorted(os.listdir(out)):
    p = os.path.join(out, name, "metrics.json")
    if not os.path.isfile(p):
        continue
    m = json.load(open(p))
    it = m["iterates"]
    modes = f"{it[0]['modes_hit']}/{it[0]['modes']}" if "modes" in it[0] else "–"
    bal = str(it[0].get("modes_balanced", "–"))
    hq = f"{it[0]['high_quality']:.3f}" if "high_quality" in it[0] else "–"
    print(f"| {name} | {modes} | {bal} | {hq} | {it[0]['mmd2']:.4f} | {it[1]['mmd2']:.4f} | "
          f"{m['mmd2_data_vs_data']:.4f} | {m['idempotence_error']:.3f} | {m['reconstruction_error']:.3f} | "
          f"{m['train_seconds']:.0f} |")
PY
