#!/usr/bin/env python3
"""The coupling benchmark's plots, with matplotlib, from benchmark.py's results.json:

  quality_vs_nfe.png    MMD² against NFE (1, 2, 4 and every other NFE a run evaluated), one panel
                        per dataset, one line per method: the mean over seeds, bars from the
                        lowest to the highest seed.
  quality_vs_time.png   NFE-1 MMD² against training seconds, one panel per dataset, one point per
                        method and seed.
  samples_DATASET.png   samples (seed 0, 1 000 points) of every method (columns) at NFE 1, 2
                        and 4 (rows), one panel each, on one window for the dataset.

  plots.py RESULTS_JSON OUT_DIR

Needs matplotlib (scripts/install-deps.sh --plots puts a pinned one in .venv-bench/); exits 0
with a message when it is missing, so the tables never depend on it.
"""
import csv, json, math, os, statistics, sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("coupling-benchmark plots: no matplotlib (scripts/install-deps.sh --plots); no plots written",
          file=sys.stderr)
    sys.exit(0)


def by_nfe(seeds):
    """{nfe: [the best MMD² at that NFE, per seed]} over the NFEs every seed evaluated."""
    per_seed = []
    for r in seeds:
        best = {}
        for nfe, mmd2, *_ in r["entries"]:
            best[nfe] = min(best.get(nfe, math.inf), mmd2)
        per_seed.append(best)
    common = set.intersection(*(set(b) for b in per_seed))
    return {k: [b[k] for b in per_seed] for k in sorted(common)}


def panels(count):
    """One log-log panel a dataset, side by side."""
    return plt.subplots(1, count, figsize=(6 * count, 4.8), squeeze=False)


def finish_panels(fig, axes, path):
    for ax in axes[0]:
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def quality_vs_nfe(data, path):
    datasets = list(data["results"])
    fig, axes = panels(len(datasets))
    for ax, ds in zip(axes[0], datasets):
        for label in data["rows"]:
            curve = by_nfe(data["results"][ds][label])
            ks = [k for k in curve if k <= 64]
            means = [statistics.fmean(curve[k]) for k in ks]
            low = [m - min(curve[k]) for m, k in zip(means, ks)]
            high = [max(curve[k]) - m for m, k in zip(means, ks)]
            ax.errorbar(ks, means, yerr=[low, high], marker="o", markersize=3, capsize=2, label=label)
        ax.set(xscale="log", yscale="log", xlabel="NFE", ylabel="MMD² (mean; bars: seed range)", title=ds)
    finish_panels(fig, axes, path)


def quality_vs_time(data, path):
    datasets = list(data["results"])
    fig, axes = panels(len(datasets))
    for ax, ds in zip(axes[0], datasets):
        for label in data["rows"]:
            seeds = data["results"][ds][label]
            seconds = [r["seconds"] for r in seeds]
            nfe1 = [min(e[1] for e in r["entries"] if e[0] == 1) for r in seeds]
            ax.scatter(seconds, nfe1, s=18, label=label)
        ax.set(xscale="log", yscale="log", xlabel="training seconds", ylabel="NFE-1 MMD² (one point a seed)", title=ds)
    finish_panels(fig, axes, path)


def read_points(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return [float(r[0]) for r in rows], [float(r[1]) for r in rows]


def sample_grid(data, ds, path):
    rows, nfes = data["rows"], data["sample_nfe"]
    fig, axes = plt.subplots(len(nfes), len(rows), figsize=(1.9 * len(rows), 1.9 * len(nfes) + 0.4), squeeze=False)
    everything = [read_points(data["samples"][ds][label][str(k)]) for label in rows for k in nfes]
    xs = sorted(x for points in everything for x in points[0])
    ys = sorted(y for points in everything for y in points[1])
    # The window: the central 99 % of every panel's points together, so one outlier run cannot
    # shrink the rest to a dot.
    def window(v):
        lo, hi = v[int(0.005 * len(v))], v[int(0.995 * len(v)) - 1]
        pad = 0.1 * (hi - lo)
        return lo - pad, hi + pad
    for j, label in enumerate(rows):
        for i, k in enumerate(nfes):
            ax = axes[i][j]
            x, y = read_points(data["samples"][ds][label][str(k)])
            ax.scatter(x, y, s=1, alpha=0.5)
            ax.set(xlim=window(xs), ylim=window(ys), xticks=[], yticks=[])
            if i == 0:
                ax.set_title(label, fontsize=8)
            if j == 0:
                ax.set_ylabel(f"NFE {k}", fontsize=9)
    fig.suptitle(f"{ds}: samples of seed 0", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plots.py RESULTS_JSON OUT_DIR")
    with open(sys.argv[1]) as f:
        data = json.load(f)
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    written = [os.path.join(out, "quality_vs_nfe.png"), os.path.join(out, "quality_vs_time.png")]
    quality_vs_nfe(data, written[0])
    quality_vs_time(data, written[1])
    for ds in data["samples"]:
        written.append(os.path.join(out, f"samples_{ds}.png"))
        sample_grid(data, ds, written[-1])
    print("coupling-benchmark plots: wrote " + ", ".join(written), file=sys.stderr)


if __name__ == "__main__":
    main()
