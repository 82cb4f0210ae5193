#!/usr/bin/env bash
# Speed check for a redesign without the machine's timing noise: builds scripts/step_cost.cpp
# against commit REV (default: HEAD) and against the working tree (-O2, the library's flags),
# counts the instructions of STEPS training steps of every method under callgrind (one thread,
# float, mlp WIDTH³, batch BATCH), and prints old, new and the ratio per method.
#   [METHODS="edm cdm"] scripts/compare-step-cost.sh [REV] [WIDTH] [BATCH] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}; width=${2:-128}; batch=${3:-256}; steps=${4:-3}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/old" "$rev" >/dev/null 2>&1
flags="-std=c++20 -O2 -march=native -fopenmp -fno-math-errno -fno-trapping-math -DNDEBUG -DIDEMGEN_USE_CBLAS $(pkg-config --cflags eigen3 openblas)"
libs="$(pkg-config --libs openblas) -lfmt"
g++ $flags -Iinclude scripts/step_cost.cpp -o "$work/new" $libs
g++ $flags -I"$work/old/include" scripts/step_cost.cpp -o "$work/old_bin" $libs
count() {
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf "%-6s %16s %16s %8s   (%s steps, width %s, batch %s; old = %s)\n" method old new new/old "$steps" "$width" "$batch" "$rev"
for m in ${METHODS:-ign naign fm edm cdm}; do
  a=$(count "$work/old_bin" "$m" "$width" "$batch" "$steps")
  b=$(count "$work/new" "$m" "$width" "$batch" "$steps")
  printf "%-6s %16s %16s %8.4f\n" "$m" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
