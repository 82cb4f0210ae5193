#!/usr/bin/env bash
# Exact and entropic OT: ours (bench/bench_ot.cpp) against SciPy, lap and POT
# (bench/ot_peers.py, in the .venv-bench that scripts/install-deps.sh --ot-bench makes) on the same
# instances, one thread each, rounds alternating the two sides; prints a markdown table with the
# median per-round ratio (peer time / our time) against the fastest peer, and checks that every
# exact solver found the same optimal cost.
#   bench/compare_ot.sh [rounds] [sizes...]      (defaults 2 and 256 512 1024 2048 4096)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
shift || true
sizes=("$@")
[[ ${#sizes[@]} -eq 0 ]] && sizes=(256 512 1024 2048 4096)
scripts/install-deps.sh --ot-bench
py=.venv-bench/bin/python
if ! "$py" -c "import scipy, ot" 2>/dev/null; then
  echo "compare_ot: no peers (.venv-bench lacks scipy/pot: the package index was unreachable)" >&2
  exit 0
fi
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DIDEMGEN_BUILD_BENCH=ON \
      -DIDEMGEN_BUILD_TESTS=OFF -DIDEMGEN_BUILD_EXAMPLES=OFF > /dev/null
cmake --build build/bench -j 2 --target bench_ot >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(lscpu | grep 'Model name' | sed 's/ \+/ /g'); flags: $(grep -ow -m1 'avx512f\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
for round in $(seq "$rounds"); do
  echo "compare_ot: round $round of $rounds" >&2
  OMP_NUM_THREADS=1 build/bench/bench/bench_ot "$work" 3 "${sizes[@]}" | sed "s/^/$round /" >> "$work/runs.txt"
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$py" bench/ot_peers.py "$work" 3 "${sizes[@]}" | sed "s/^/$round /" >> "$work/runs.txt"
done
grep -m1 '# numpy' "$work/runs.txt" | cut -d' ' -f2-
python3 - "$work/runs.txt" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(dict)   # (instance, solver, n) -> {(round, who): (seconds, cost)}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 7 or f[1].startswith("#"): continue
    rnd, who, inst, solver, n, sec, cost = f[:7]
    runs[(inst, solver, int(n))][(int(rnd), who)] = (float(sec), float(cost))
print("| instance | n | solver | ours (ms) | fastest peer (ms) | ratio, median (range) | others (ms) | costs agree |")
print("|---|---:|---|---:|---:|---|---|---|")
for (inst, solver, n), cell in sorted(runs.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
    rounds = sorted({r for r, _ in cell})
    peers = sorted({w for _, w in cell if w != "ours"})
    if not peers: continue
    ours = statistics.median(cell[(r, "ours")][0] for r in rounds if (r, "ours") in cell)
    med = {p: statistics.median(cell[(r, p)][0] for r in rounds if (r, p) in cell) for p in peers}
    best = min(peers, key=lambda p: med[p])
    ratios = [cell[(r, best)][0] / cell[(r, "ours")][0] for r in rounds if (r, best) in cell and (r, "ours") in cell]
    rng = f"{min(ratios):.2f}–{max(ratios):.2f}" if len(ratios) > 1 else ""
    costs = [v[1] for v in cell.values()]
    tol = 1e-9 if solver == "exact" else 2e-3
    agree = "yes" if max(costs) - min(costs) <= tol * max(abs(c) for c in costs) else f"NO ({min(costs):.9g}..{max(costs):.9g})"
    others = ", ".join(f"{p} {1e3 * med[p]:.3g}" for p in peers if p != best)
    print(f"| {inst} | {n} | {solver} | {1e3 * ours:.3g} | {best} {1e3 * med[best]:.3g} | "
          f"{statistics.median(ratios):.2f}× ({rng}) | {others} | {agree} |")
PY
