#!/usr/bin/env bash
# idemgen's training steps against PyTorch's (PyPI's current 2.x, eager and torch.compile), side
# by side in one run: the same steps, shapes and thread counts, interleaved rounds, and the FMA
# peak (bench_peak) measured in the same run, so that every ratio comes with the fraction of the
# machine's peak both sides reach. Prints markdown tables (docs/PERFORMANCE.md).
#   bench/compare_torch.sh [threads…] [--rounds R] [--only mlp|methods|diffusion|images] [--both-gemms]
#   (defaults: threads 1 2, 4 rounds, every pair of programs; --only may be repeated; our steps run
#   on the library's default GEMM, or with --both-gemms on IDEMGEN_GEMM=openblas and =onednn in
#   every round, reported as rows of their own)
set -euo pipefail
cd "$(dirname "$0")/.."
threads_list=()
only=()
rounds=4
kernels=(default)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --both-gemms) kernels=(openblas onednn); shift ;;
    *) threads_list+=("$1"); shift ;;
  esac
done
[[ ${#threads_list[@]} -gt 0 ]] || threads_list=(1 2)
[[ ${#only[@]} -gt 0 ]] || only=(mlp methods diffusion images)
# Each pair: our benchmark program and PyTorch's script of the same steps.
declare -A ours_of=([mlp]=bench_train_step [methods]=bench_methods [diffusion]=bench_diffusion [images]=bench_images)
declare -A theirs_of=([mlp]=torch_train_step.py [methods]=torch_methods.py [diffusion]=torch_diffusion.py [images]=torch_images.py)
benches=() scripts=()
for pair in "${only[@]}"; do
  [[ -n ${ours_of[$pair]:-} ]] || { echo "compare_torch: unknown --only $pair (mlp, methods, diffusion, images)" >&2; exit 2; }
  benches+=("${ours_of[$pair]}")
  scripts+=("${theirs_of[$pair]}")
done

scripts/install-deps.sh --bench
python=${VENV_TORCH_PYTHON:-.venv-torch/bin/python}
"$python" -c "import torch" 2>/dev/null ||
  { echo "compare_torch: no PyTorch in $python (scripts/install-deps.sh --bench makes it)" >&2; exit 2; }
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_BENCH=ON \
      -DIDEMGEN_BUILD_TESTS=OFF -DIDEMGEN_BUILD_EXAMPLES=OFF > /dev/null
cmake --build build/bench -j 2 --target "${benches[@]}" bench_peak >&2

out=$(mktemp -d)
# Each round runs, for each thread count, all of our steps (median of 3 repetitions), then
# PyTorch's eager steps, then its compiled ones (median of 5), so that the machine's slow drifts
# hit all three; the ratio reported is the median of the per-round ratios, with its range.
# torch.compile's first round compiles (tens of seconds a step, cached on disk for the next rounds);
# time_ms warms up past it.
for round in $(seq "$rounds"); do
  for threads in "${threads_list[@]}"; do
    echo "compare_torch: round $round of $rounds, $threads thread(s)" >&2
    for kernel in "${kernels[@]}"; do
      tag=$([[ $kernel == default ]] && echo idemgen || echo "idemgen-$kernel")
      gemm=$([[ $kernel == default ]] && echo "${IDEMGEN_GEMM:-auto}" || echo "$kernel")
      for bench in "${benches[@]}"; do
        IDEMGEN_GEMM=$gemm IDEMGEN_BENCH_THREADS=$threads OMP_NUM_THREADS=$threads build/bench/bench/$bench \
          --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 \
          --benchmark_out="$out/${tag}_${bench}_${threads}_$round.json" --benchmark_out_format=json > /dev/null
      done
    done
    for form in eager compile; do
      for script in "${scripts[@]}"; do
        (cd bench && OMP_NUM_THREADS=$threads IDEMGEN_BENCH_THREADS=$threads \
          "../$python" "$script" --form $form 2> /dev/null) >> "$out/torch_${threads}_$round.jsonl"
      done
    done
  done
  build/bench/bench/bench_peak --benchmark_out="$out/peak_$round.json" --benchmark_out_format=json > /dev/null
done
"$python" bench/compare_torch_report.py "$out" "$rounds" "${threads_list[@]}"
