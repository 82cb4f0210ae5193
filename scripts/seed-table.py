#!/usr/bin/env python3
"""Every seed of image runs side by side, as markdown tables: generation (FLD, coverage, density
of f(z) and f(f(z)), with each seed's own FLD floor) and restoration MAE, every seed's value and
the mean ± sample standard deviation over seeds, for runs written by examples/fashion_mnist
(summary.json, restoration.csv). Standard library only.

  seed-table.py METHOD=DIR[,DIR...] [METHOD=DIR[,DIR...] ...]
  e.g. seed-table.py ign=runs/ign_s0,runs/ign_s1,runs/ign_s2 naign=runs/naign_s0,runs/naign_s1
"""
import csv
import json
import os
import statistics
import sys

GENERATION = [("fld_f_z", "FLD f(z) ↓"), ("fld_f_f_z", "FLD f(f(z)) ↓"), ("coverage_f_z", "coverage f(z) ↑"),
              ("density_f_z", "density f(z) ↑"), ("coverage_f_f_z", "coverage f(f(z))")]


def spread(values, digits):
    """'v0 / v1 / v2 (mean ± sd)'; one value alone has no spread."""
    each = " / ".join(f"{v:.{digits}f}" for v in values)
    if len(values) < 2:
        return each
    return f"{each} (**{statistics.mean(values):.{digits}f}** ± {statistics.stdev(values):.{digits}f})"


def main():
    if len(sys.argv) < 2 or any("=" not in a for a in sys.argv[1:]):
        sys.exit("usage: seed-table.py METHOD=DIR[,DIR...] [METHOD=DIR[,DIR...] ...]")
    runs = {}
    for arg in sys.argv[1:]:
        method, dirs = arg.split("=", 1)
        runs[method] = []
        for d in dirs.split(","):
            with open(os.path.join(d, "summary.json")) as f:
                summary = json.load(f)
            with open(os.path.join(d, "restoration.csv")) as f:
                restoration = {r["degradation"]: r for r in csv.DictReader(f)}
            runs[method].append((summary, restoration))

    print("| method | seeds | steps | " + " | ".join(label for _, label in GENERATION) + " | FLD floor |")
    print("|---|---|---:|" + "---:|" * (len(GENERATION) + 1))
    for method, seeds in runs.items():
        cells = [spread([s[key] for s, _ in seeds], 1 if key.startswith("fld") else 3) for key, _ in GENERATION]
        floors = spread([s["fld_scale"]["training_images"] for s, _ in seeds], 2)
        steps = " / ".join(str(s["steps_done"]) for s, _ in seeds)
        print(f"| {method} | {', '.join(str(s['seed']) for s, _ in seeds)} | {steps} | " + " | ".join(cells)
              + f" | {floors} |")

    degradations = list(next(iter(runs.values()))[0][1])
    print("\n| degradation | degraded (mean) | " + " | ".join(runs) + " |")
    print("|---|---:|" + "---:|" * len(runs))
    for d in degradations:
        # each seed degrades with its own draws: the mean over every run's degraded input
        degraded = statistics.mean(float(r[d]["mae_degraded"]) for seeds in runs.values() for _, r in seeds)
        cells = [spread([float(r[d]["mae_restored"]) for _, r in seeds], 3) for seeds in runs.values()]
        print(f"| {d} | {degraded:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
