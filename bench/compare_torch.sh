#!/usr/bin/env bash
# Runs idemgen's and PyTorch's training-step benchmarks side by side, in one run, on the same
# thread count, and prints a markdown table with the ratio (PyTorch time / idemgen time).
#   bench/compare_torch.sh [threads]      (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
scripts/install-deps.sh --bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_BENCH=ON \
      -DIDEMGEN_BUILD_TESTS=OFF -DIDEMGEN_BUILD_EXAMPLES=OFF > /dev/null
cmake --build build/bench -j 2 --target bench_train_step bench_methods bench_diffusion

# PyTorch at its fastest OpenBLAS kernel: SkylakeX where the CPU has AVX-512 (about 2x on the
# machines that have it); elsewhere OpenBLAS's own detection (forcing SkylakeX without AVX-512
# dies with SIGILL).
if grep -qw avx512f /proc/cpuinfo; then torch_core=SkylakeX; else torch_core=""; fi
out=$(mktemp -d)
OMP_NUM_THREADS=$threads build/bench/bench/bench_train_step --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=1 \
  --benchmark_out="$out/idemgen.json" --benchmark_out_format=json > /dev/null
OMP_NUM_THREADS=$threads build/bench/bench/bench_methods --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=1 \
  --benchmark_out="$out/idemgen_methods.json" --benchmark_out_format=json > /dev/null
OMP_NUM_THREADS=$threads build/bench/bench/bench_diffusion --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=1 \
  --benchmark_out="$out/idemgen_diffusion.json" --benchmark_out_format=json > /dev/null
if [[ -n "$torch_core" ]]; then
  env OPENBLAS_CORETYPE="$torch_core" OMP_NUM_THREADS=$threads IDEMGEN_BENCH_THREADS=$threads \
    /usr/bin/python3 bench/torch_train_step.py > "$out/torch.jsonl"
  (cd bench && env OPENBLAS_CORETYPE="$torch_core" OMP_NUM_THREADS=$threads IDEMGEN_BENCH_THREADS=$threads \
    /usr/bin/python3 torch_methods.py) >> "$out/torch.jsonl"
  (cd bench && env OPENBLAS_CORETYPE="$torch_core" OMP_NUM_THREADS=$threads IDEMGEN_BENCH_THREADS=$threads \
    /usr/bin/python3 torch_diffusion.py) >> "$out/torch.jsonl"
else
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads \
    IDEMGEN_BENCH_THREADS=$threads /usr/bin/python3 bench/torch_train_step.py > "$out/torch.jsonl"
  (cd bench && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads \
    IDEMGEN_BENCH_THREADS=$threads /usr/bin/python3 torch_methods.py) >> "$out/torch.jsonl"
  (cd bench && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads \
    IDEMGEN_BENCH_THREADS=$threads /usr/bin/python3 torch_diffusion.py) >> "$out/torch.jsonl"
fi
/usr/bin/python3 - "$out" <<'PY'
import json, sys, platform
out = sys.argv[1]
ours = {}
for result in ("idemgen.json", "idemgen_methods.json", "idemgen_diffusion.json"):
    for b in json.load(open(f"{out}/{result}"))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            name = b["run_name"].split("/threads")[0].replace("/real_time", "")
            ours[name] = b["real_time"]  # ms
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"CPU: {cpu}, {platform.machine()}")
print("| step | idemgen (ms) | PyTorch (ms) | PyTorch / idemgen |")
print("|---|---:|---:|---:|")
for line in open(f"{out}/torch.jsonl"):
    t = json.loads(line)
    mine = ours[t["name"]]
    print(f"| {t['name']} | {mine:.3f} | {t['ms']:.3f} | {t['ms'] / mine:.2f}x |")
print(f"\nPyTorch {t['torch']}, threads {t['threads']}, BLAS {', '.join(t['blas'])}, "
      f"OPENBLAS_CORETYPE {t['coretype']}")
PY
