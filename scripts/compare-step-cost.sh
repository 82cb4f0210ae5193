#!/usr/bin/env bash
# Speed check for a redesign without the machine's timing noise: builds scripts/step_cost.cpp
# against commit REV (default: HEAD) and against the working tree (-O2, the library's flags),
# counts the instructions of STEPS training steps of every method (METHODS: ign naign fm edm cdm
# sign lmm ot-naign ot-fm) under callgrind (one thread,
# float, mlp WIDTH³, batch BATCH; the warm-up step is not counted), and prints old and new
# instructions per step, the ratio, and whether the two builds' losses are the same bits.
#   [METHODS="edm cdm"] scripts/compare-step-cost.sh [REV] [WIDTH] [BATCH] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}; width=${2:-128}; batch=${3:-256}; steps=${4:-3}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/old" "$rev" >/dev/null 2>&1
flags="-std=c++20 -O2 -march=x86-64-v3 -fopenmp -fno-math-errno -fno-trapping-math -DNDEBUG -DIDEMGEN_USE_CBLAS $(pkg-config --cflags eigen3 openblas)"
libs="$(pkg-config --libs openblas) -lfmt"
g++ $flags -Iinclude scripts/step_cost.cpp -o "$work/new" $libs
g++ $flags -I"$work/old/include" scripts/step_cost.cpp -o "$work/old_bin" $libs
# Built for x86-64-v3 (AVX2 + FMA) and with OpenBLAS's HASWELL kernels on every machine: valgrind
# 3.19 cannot run AVX-512 instructions, and one instruction set makes counts from two machines
# compare.
count() {  # prints "instructions-per-step loss-sum"
  local log
  log=$(OPENBLAS_CORETYPE=HASWELL OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 valgrind --tool=callgrind \
        --instr-atstart=no --callgrind-out-file=/dev/null "$@" 2>&1) || true  # exit 2: a method it lacks
  local collected
  collected=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<< "$log")
  echo "$(( ${collected:-0} / steps ))" "$(grep -v '^==' <<< "$log" | tail -1)"
}
printf "%-8s %14s %14s %8s %6s   (per step, mean of %s; width %s, batch %s; old = %s)\n" \
  method old new new/old bits "$steps" "$width" "$batch" "$rev"
# A method the old build does not have (it answers "unknown method") prints "–" on its side.
for m in ${METHODS:-ign naign fm edm cdm sign lmm ot-naign ot-fm}; do
  read -r b b_sum < <(count "$work/new" "$m" "$width" "$batch" "$steps")
  read -r a a_sum < <(count "$work/old_bin" "$m" "$width" "$batch" "$steps")
  if [[ $a == 0 ]]; then
    printf "%-8s %14s %14s %8s %6s\n" "$m" "–" "$b" "–" "–"
    continue
  fi
  same=$([[ "$a_sum" == "$b_sum" ]] && echo same || echo differ)
  printf "%-8s %14s %14s %8.4f %6s\n" "$m" "$a" "$b" "$(echo "$b / $a" | bc -l)" "$same"
done
