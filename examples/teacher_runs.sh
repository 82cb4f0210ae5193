#!/usr/bin/env bash
# The teacher-method runs of docs/RESULTS_DIFFUSION.md beyond the analytic teacher: LMM on grid-25
# with a trained EDM teacher (EDM 10 000 steps → 200 000 Heun-18 pairs → LMM 20 000 steps on the
# stored pairs), LMM's 128-d toy (examples/toy128.cpp) over seeds 0–2, and SIGN alone on it for
# 20 000 steps at sigma_max 80 and 5, with its regression term, and with regression alone. Outputs in
# out/teachers/.
#   examples/teacher_runs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/teachers
source examples/run_common.sh
build_cli
cmake --build build/release -j 2 --target toy128 >&2
run edm_grid25_s0 --method diffusion --dataset grid25 --steps 10000 --seed 0
if [[ ! -f $out/edm_pairs.safetensors ]]; then
  "$cli" pairs --teacher $out/edm_grid25_s0/model.safetensors --n 200000 --out $out/edm_pairs.safetensors \
    > $out/edm_pairs.log 2>&1
fi
run lmm_edm_teacher_s0 --method lmm --activation silu --pairs $out/edm_pairs.safetensors --seed 0
if [[ ! -f $out/mixture_pairs.safetensors ]]; then  # the analytic teacher's pairs, for the timing table
  "$cli" pairs --teacher mixture:grid25 --n 200000 --out $out/mixture_pairs.safetensors > $out/mixture_pairs.log 2>&1
fi
run lmm_mixture_pairs_s0 --method lmm --activation silu --pairs $out/mixture_pairs.safetensors --seed 0
for seed in 0 1 2; do
  [[ -f $out/toy128_s$seed/metrics.json ]] || build/release/examples/toy128 --seed $seed --out $out/toy128_s$seed \
    > $out/toy128_s$seed.log 2>&1
done
for sm in 80 5; do  # SIGN alone at d = 128, five times the budget
  [[ -f $out/toy128_sign_sm${sm}_20k/metrics.json ]] || build/release/examples/toy128 --methods sign --steps 20000 \
    --sign-sigma-max $sm --out $out/toy128_sign_sm${sm}_20k > $out/toy128_sign_sm${sm}_20k.log 2>&1
done
toy() {  # toy NAME ARGS…: one toy128 run into $out/NAME
  local name=$1; shift
  [[ -f $out/$name/metrics.json ]] || build/release/examples/toy128 "$@" --out $out/$name > $out/$name.log 2>&1
}
toy toy128_signreg_sm80 --methods signreg                      # SIGN + regression on 20 000 stored pairs
for sm in 80 5; do                                             # rec + idem + regression only, 2 000 steps
  toy toy128_regonly_sm$sm --methods signreg --steps 2000 --sign-flow-weight 0 --sign-denoise-weight 0 --sign-sigma-max $sm
done
tail -n 3 $out/*.log
