#!/usr/bin/env bash
# Behaviour check for a redesign: builds scripts/step_values.cpp against commit REV
# (default: HEAD) and against the working tree, runs both, and compares every printed value
# (every term of every method for 5 double-precision steps) to a relative 1e-12.
#   scripts/compare-step-values.sh [REV]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/old" "$rev" >/dev/null 2>&1
flags="-std=c++20 -O1 -fopenmp -fno-math-errno -fno-trapping-math -DNDEBUG -DIDEMGEN_USE_CBLAS $(pkg-config --cflags eigen3 openblas)"
libs="$(pkg-config --libs openblas) -lfmt"
g++ $flags -Iinclude scripts/step_values.cpp -o "$work/new" $libs
g++ $flags -I"$work/old/include" scripts/step_values.cpp -o "$work/old_bin" $libs
"$work/old_bin" > "$work/old.txt"
"$work/new" > "$work/new.txt"
python3 - "$work/old.txt" "$work/new.txt" "$rev" <<'PY'
import sys
old = open(sys.argv[1]).read().split("\n"); new = open(sys.argv[2]).read().split("\n")
worst, bad = 0.0, 0
for a, b in zip(old, new):
    ta, tb = a.split(), b.split()
    if ta[:2] != tb[:2] or len(ta) != len(tb): print("differs:", a, "|", b); bad += 1; continue
    for x, y in zip(ta[2:], tb[2:]):
        if x == "|": continue
        x, y = float(x), float(y)
        rel = abs(x - y) / max(abs(x), abs(y), 1e-300)
        worst = max(worst, rel)
        if rel > 1e-12: print(f"{ta[0]} step {ta[1]}: {x!r} vs {y!r}"); bad += 1
print(f"{len(old) - 1} step lines against {sys.argv[3]}: worst relative difference {worst:.3g}, {bad} over 1e-12")
sys.exit(1 if bad or len(old) != len(new) else 0)
PY
