#!/usr/bin/env bash
# Runs idemgen's and PyTorch's training-step benchmarks side by side, in one run, on the same
# thread count, and prints a markdown table with the ratio (PyTorch time / idemgen time).
#   bench/compare_torch.sh [threads] [rounds]      (defaults 2 and 5)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
rounds=${2:-5}
scripts/install-deps.sh --bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_BENCH=ON \
      -DIDEMGEN_BUILD_TESTS=OFF -DIDEMGEN_BUILD_EXAMPLES=OFF > /dev/null
cmake --build build/bench -j 2 --target bench_train_step bench_methods bench_diffusion >&2

# PyTorch at its fastest OpenBLAS kernel: SkylakeX where the CPU has AVX-512 (about 2x on the
# machines that have it); elsewhere OpenBLAS's own detection (forcing SkylakeX without AVX-512
# dies with SIGILL).
if grep -qw avx512f /proc/cpuinfo; then torch_core=SkylakeX; else torch_core=""; fi
out=$(mktemp -d)
# Rounds alternate the two sides (ours, then PyTorch, then ours, ...), so that the machine's slow
# drifts (±10–25 % over minutes on these shared cores) hit both; the ratio reported is the median of
# the per-round ratios, with their range. One round takes about 1.5 minutes on 2 cores.
if [[ -n "$torch_core" ]]; then
  torch_env=(env OPENBLAS_CORETYPE="$torch_core")
else
  torch_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
fi
for round in $(seq "$rounds"); do
  echo "compare_torch: round $round of $rounds" >&2
  for bench in bench_train_step bench_methods bench_diffusion; do
    OMP_NUM_THREADS=$threads build/bench/bench/$bench --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 \
      --benchmark_out="$out/idemgen_${bench}_$round.json" --benchmark_out_format=json > /dev/null
  done
  for script in torch_train_step.py torch_methods.py torch_diffusion.py; do
    (cd bench && "${torch_env[@]}" OMP_NUM_THREADS=$threads IDEMGEN_BENCH_THREADS=$threads \
      /usr/bin/python3 "$script") >> "$out/torch_$round.jsonl"
  done
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, sys, platform, statistics
out, rounds = sys.argv[1], int(sys.argv[2])
ours, theirs = {}, {}  # name -> [ms per round]
for r in range(1, rounds + 1):
    for bench in ("bench_train_step", "bench_methods", "bench_diffusion"):
        for b in json.load(open(f"{out}/idemgen_{bench}_{r}.json"))["benchmarks"]:
            if b.get("aggregate_name") == "median":
                name = b["run_name"].split("/threads")[0].replace("/real_time", "")
                ours.setdefault(name, []).append(b["real_time"])  # ms
    for line in open(f"{out}/torch_{r}.jsonl"):
        t = json.loads(line)
        theirs.setdefault(t["name"], []).append(t["ms"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"CPU: {cpu}, {platform.machine()}; {rounds} interleaved rounds")
print("| step | idemgen ms (median) | PyTorch ms (median) | PyTorch / idemgen: median of rounds | range |")
print("|---|---:|---:|---:|---|")
for name, their in theirs.items():
    mine = ours[name]
    ratios = [t / o for t, o in zip(their, mine)]
    print(f"| {name} | {statistics.median(mine):.3f} | {statistics.median(their):.3f} | "
          f"{statistics.median(ratios):.2f}x | {min(ratios):.2f}–{max(ratios):.2f}x |")
print(f"\nPyTorch {t['torch']}, threads {t['threads']}, BLAS {', '.join(t['blas'])}, "
      f"OPENBLAS_CORETYPE {t['coretype']}")
PY
