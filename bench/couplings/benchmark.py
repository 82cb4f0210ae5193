#!/usr/bin/env python3
"""The coupling benchmark's driver: trains and evaluates every method and coupling on grid-25,
8 gaussians, moons (the `idemgen` CLI) and LMM's 128-d two-Gaussian toy (`toy128`), over seeds,
and writes one Markdown report of the tables (mean ± standard deviation over seeds).

Each run's folder is named by a hash of its command, so a rerun trains only what changed; a run
that another one needs (reflow's flow, LMM's pairs, their EDM teacher) runs first. Standard
library only. Normally started by scripts/coupling-benchmark.sh.

  benchmark.py --cli IDEMGEN --toy128 TOY128 --budget quick|full|tiny --out DIR --doc FILE [--check]

--check exits 1 unless every cell of every table is a finite number (the CTest case, with --fresh:
every run trained again).
"""
import argparse, hashlib, json, math, os, shutil, statistics, subprocess, sys, time

BUDGETS = {
    # steps per family, evaluation samples, seeds; net width and batch
    "tiny": dict(seeds=[0], one_step=20, noised=20, lmm=20, pairs=500, toy=5, samples=300, toy_samples=500,
                 width=16, batch=64, reflow_steps=10, threads=1),
    "quick": dict(seeds=[0], one_step=1000, noised=2000, lmm=4000, pairs=50000, toy=500, samples=1000, toy_samples=1000,
                  width=256, batch=512, reflow_steps=100, threads=2),
    "full": dict(seeds=[0, 1, 2], one_step=4000, noised=10000, lmm=20000, pairs=200000, toy=4000, samples=2500,
                 toy_samples=2000, width=256, batch=512, reflow_steps=100, threads=2),
}
DATASETS = ["grid25", "8gaussians", "moons"]
MIXTURES = {"grid25", "8gaussians"}  # those with an analytic teacher


class Runner:
    def __init__(self, args):
        self.args, self.done, self.started = args, 0, time.time()
        self.total = 0

    def folder(self, name, command):
        key = hashlib.sha1(json.dumps(command).encode()).hexdigest()[:10]
        slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return os.path.join(self.args.out, f"{slug}-{key}")

    def run(self, name, command, product):
        """Runs `command` (its output folder or file replaces OUT) unless `product` exists; returns the folder."""
        folder = self.folder(name, command)
        target = os.path.join(folder, product)
        self.done += 1
        if not os.path.exists(target):
            os.makedirs(folder, exist_ok=True)
            real = [c.replace("OUT", folder) for c in command]
            elapsed = time.time() - self.started
            eta = elapsed / max(self.done - 1, 1) * (self.total - self.done + 1) if self.done > 1 else float("nan")
            print(f"coupling-benchmark: [{self.done}/{self.total}] {name} (elapsed {elapsed:.0f} s, ETA {eta:.0f} s)",
                  file=sys.stderr, flush=True)
            with open(os.path.join(folder, "run.log"), "w") as log:
                status = subprocess.run(real, stdout=log, stderr=subprocess.STDOUT).returncode
            if status != 0 or not os.path.exists(target):
                sys.exit(f"coupling-benchmark: {name} failed (exit {status}); see {folder}/run.log")
        return folder


def plan(budget):
    """The runs, (dataset, row label or None for a pair file, name, command, product), each after
    the runs its command names with @NAME."""
    b = BUDGETS[budget]
    common = ["--width", str(b["width"]), "--batch", str(b["batch"]), "--samples", str(b["samples"]),
              "--threads", str(b["threads"])]
    runs = []
    for seed in b["seeds"]:
        s = ["--seed", str(seed)]
        for ds in DATASETS:
            def train(label, steps, *extra):
                name = f"{ds}-{label}-s{seed}"
                runs.append((ds, label, name, ["CLI", "train", "--dataset", ds, "--steps", str(steps), *common, *s,
                                               *extra, "--out", "OUT"], "metrics.json"))
                return name
            train("ign", b["one_step"], "--method", "ign")
            train("naign", b["one_step"], "--method", "naign")
            train("ot-naign (M = 2N)", b["one_step"], "--method", "naign", "--coupling", "ot", "--ot-ratio", "2")
            teacher = ["--teacher", f"mixture:{ds}"] if ds in MIXTURES else ["--teacher", "empirical"]
            train("sign (σ_max 5)", b["one_step"], "--method", "sign", "--sigma-max", "5", *teacher)
            edm = train("edm", b["noised"], "--method", "diffusion")
            fm = train("fm independent", b["noised"], "--method", "fm")
            train("fm ot", b["noised"], "--method", "fm", "--coupling", "ot")
            train("fm sinkhorn", b["noised"], "--method", "fm", "--coupling", "sinkhorn")
            train("fm reflow (2-RF)", b["noised"], "--method", "fm", "--coupling", "reflow", "--from",
                  f"@{fm}/model.safetensors", "--reflow-steps", str(b["reflow_steps"]))
            # LMM on stored pairs of the analytic teacher, or of this EDM where there is none.
            source = f"mixture:{ds}" if ds in MIXTURES else f"@{edm}/model.safetensors"
            pairs = f"{ds}-pairs-s{seed}"
            runs.append((ds, None, pairs, ["CLI", "pairs", "--teacher", source, "--n", str(b["pairs"]), *s,
                                           "--threads", str(b["threads"]), "--out", "OUT/pairs.safetensors"],
                         "pairs.safetensors"))
            train("lmm", b["lmm"], "--method", "lmm", "--activation", "silu", "--pairs", f"@{pairs}/pairs.safetensors")
        runs.append(("toy128", "*", f"toy128-s{seed}",
                     ["TOY128", "--steps", str(b["toy"]), "--width", str(b["width"]), "--samples", str(b["toy_samples"]),
                      "--threads", str(b["threads"]), *s, "--out", "OUT"], "metrics.json"))
    return runs


def resolve(command, folders, args):
    out = []
    for c in command:
        if c == "CLI":
            out.append(args.cli)
        elif c == "TOY128":
            out.append(args.toy128)
        elif c.startswith("@"):
            name, rest = c[1:].split("/", 1)
            out.append(os.path.join(folders[name], rest))
        else:
            out.append(c)
    return out


def nfe_entries(m):
    """[(nfe, mmd2, sliced_w2, modes_hit, modes_balanced)] of a CLI metrics.json."""
    entries = []
    if "nfe_table" in m:
        for r in m["nfe_table"]:
            entries.append((r["nfe"], r["mmd2"], r["sliced_w2"], r.get("modes_hit"), r.get("modes_balanced")))
    elif "multistep" in m:  # SIGN: Alg. 3 with k NFE
        for r in m["multistep"]:
            entries.append((r["nfe"], r["mmd2"], r["sliced_w2"], r.get("modes_hit"), r.get("modes_balanced")))
    else:  # IGN, NAIGN: k applications of f
        for r in m["iterates"]:
            entries.append((r["applications"], r["mmd2"], r["sliced_w2"], r.get("modes_hit"), r.get("modes_balanced")))
    return entries


def at_nfe(entries, k):
    """The best (lowest MMD²) entry with NFE k, or None."""
    matching = [e for e in entries if e[0] == k]
    return min(matching, key=lambda e: e[1]) if matching else None


def summary(values, digits=3):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}g}"
    return f"{mean:.{digits}g} ± {statistics.stdev(values):.2g}"


def report(results, toy, budget, commit):
    lines = [f"# The coupling benchmark ({budget} budget)", "",
             f"Made by `scripts/coupling-benchmark.sh --budget {budget}` from commit {commit}. Every cell is the mean "
             "± sample standard deviation over the seeds "
             f"({', '.join(map(str, BUDGETS[budget]['seeds']))}); MMD² and sliced W2 against fresh data, modes for "
             "the mixtures; NFE k is the best sampler of the method at k network evaluations (one-step methods: k "
             "applications of f; SIGN: Alg. 3); *best* is the lowest MMD² over every NFE the run evaluated. "
             "Straightness is S₂ normalised (flow time for fm, t = 1 − σ/σ_max for edm and lmm). Train time is "
             "wall-clock on this machine; LMM's pairs are made once (their time is a separate column). The "
             "coupling's share of a step is not measured yet.", ""]
    for ds in DATASETS:
        lines += [f"## {ds}", "", "| method | NFE 1 MMD² | NFE 2 | NFE 4 | best MMD² (NFE) | NFE 1 sliced W2 | "
                  "NFE 1 modes hit / balanced | S₂ normalised | train s | pairs s |", "|---|" + "---|" * 9]
        for label, seeds in results[ds].items():
            def col(k, index):
                return summary([(at_nfe(r["entries"], k) or (None,) * 5)[index] for r in seeds])
            best = [min(r["entries"], key=lambda e: e[1]) for r in seeds]
            modes = [at_nfe(r["entries"], 1) for r in seeds]
            lines.append("| " + " | ".join([
                label, col(1, 1), col(2, 1), col(4, 1),
                summary([e[1] for e in best]) + " (" + "/".join(str(e[0]) for e in best) + ")", col(1, 2),
                summary([e[3] for e in modes if e]) + " / " + summary([e[4] for e in modes if e]),
                summary([r["straightness"] for r in seeds]), summary([r["seconds"] for r in seeds], 3),
                summary([r["pairs_seconds"] for r in seeds], 3)]) + " |")
        lines.append("")
    lines += ["## LMM's 128-d toy (examples/toy128.cpp)", "",
              "| method | NFE 1 sliced W2 | NFE 1 MMD² | NFE 1 + mass | NFE 2 sliced W2 | NFE 2 MMD² | S₂ normalised | train s |",
              "|---|" + "---|" * 7]
    for label, seeds in toy.items():
        lines.append("| " + " | ".join([
            label, summary([r["nfe1"]["sliced_w2"] for r in seeds]), summary([r["nfe1"]["mmd2"] for r in seeds]),
            summary([r["nfe1"]["plus_mass"] for r in seeds]), summary([r["nfe2"]["sliced_w2"] for r in seeds]),
            summary([r["nfe2"]["mmd2"] for r in seeds]),
            summary([r["straightness_p2_normalized"] if r["straightness_p2_normalized"] >= 0 else None for r in seeds]),
            summary([r["train_seconds"] for r in seeds], 3)]) + " |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cli", required=True)
    p.add_argument("--toy128", required=True)
    p.add_argument("--budget", choices=sorted(BUDGETS), default="quick")
    p.add_argument("--out", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--commit", default="(unknown)")
    p.add_argument("--check", action="store_true")
    p.add_argument("--fresh", action="store_true", help="remove --out first: train everything again")
    args = p.parse_args()
    if args.fresh and os.path.isdir(args.out):
        shutil.rmtree(args.out)
    runs = plan(args.budget)
    runner = Runner(args)
    runner.total = len(runs)
    folders = {}
    results = {ds: {} for ds in DATASETS}
    toy = {}
    for ds, label, name, command, product in runs:
        real = resolve(command, folders, args)
        folders[name] = runner.run(name, real, product)
        if label is None:  # a pair file: its seconds go to the LMM row of the same dataset and seed
            continue
        m = json.load(open(os.path.join(folders[name], product)))
        if ds == "toy128":
            for r in m["methods"]:
                toy.setdefault(r["method"], []).append(r)
            continue
        pairs_seconds = None
        if label == "lmm":
            with open(os.path.join(folders[f"{ds}-pairs-{name.rsplit('-', 1)[1]}"], "run.log")) as log:
                for line in log:
                    if " pairs from " in line:
                        pairs_seconds = float(line.split("NFE each), ")[1].split(" s")[0])
        results[ds].setdefault(label, []).append({
            "entries": nfe_entries(m), "seconds": m["train_seconds"],
            "straightness": m.get("straightness", {}).get("p2_normalized"), "pairs_seconds": pairs_seconds})
    text = report(results, toy, args.budget, args.commit)
    os.makedirs(os.path.dirname(os.path.abspath(args.doc)), exist_ok=True)
    with open(args.doc + ".tmp", "w") as f:
        f.write(text)
    os.replace(args.doc + ".tmp", args.doc)
    print(f"coupling-benchmark: wrote {args.doc} ({len(runs)} runs)", file=sys.stderr)
    if args.check:
        bad = []
        for ds in DATASETS:
            for label, seeds in results[ds].items():
                for r in seeds:
                    for e in r["entries"]:
                        if not all(math.isfinite(v) for v in e[1:3]):
                            bad.append(f"{ds} {label}: {e}")
                    if not at_nfe(r["entries"], 1):
                        bad.append(f"{ds} {label}: no NFE-1 entry")
        for label, seeds in toy.items():
            for r in seeds:
                for q in (r["nfe1"], r["nfe2"]):
                    if not all(math.isfinite(v) for v in q.values()):
                        bad.append(f"toy128 {label}: {q}")
        expected = {"ign", "naign", "ot-naign (M = 2N)", "sign (σ_max 5)", "edm", "fm independent", "fm ot",
                    "fm sinkhorn", "fm reflow (2-RF)", "lmm"}
        for ds in DATASETS:
            if set(results[ds]) != expected:
                bad.append(f"{ds}: rows {sorted(results[ds])}")
        if set(toy) != {"data", "fm", "ot128", "ot256", "rf2", "edm", "lmm", "sign", "signreg"}:
            bad.append(f"toy128: rows {sorted(toy)}")
        if bad:
            print("coupling-benchmark: check failed:\n  " + "\n  ".join(bad), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
