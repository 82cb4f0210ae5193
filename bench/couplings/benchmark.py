#!/usr/bin/env python3
"""The coupling benchmark's driver: trains and evaluates every method and coupling on grid-25,
8 gaussians, moons (the `idemgen` CLI) and LMM's 128-d two-Gaussian toy (`toy128`), over seeds,
and writes one Markdown report of the tables (mean ± standard deviation over seeds), the
results as JSON (for bench/couplings/plots.py) and, per dataset of seed 0, samples of every
method at NFE 1, 2 and 4.

Each run's folder is named by a hash of its command, so a rerun trains only what changed; a run
that another one needs (reflow's flow, LMM's pairs, their EDM teacher) finishes first. `jobs`
runs go at once, each on `threads` threads. Standard library only. Normally started by
scripts/coupling-benchmark.sh.

  benchmark.py --cli IDEMGEN --toy128 TOY128 --budget quick|full|tiny --out DIR --doc FILE [--check]

--check exits 1 unless every cell of every table is a finite number (the CTest case, with --fresh:
every run trained again).
"""
import argparse, concurrent.futures, hashlib, json, math, os, shutil, statistics, subprocess, sys, threading, time

BUDGETS = {
    # steps per family, evaluation samples, seeds; net width and batch; reflow's Euler steps per
    # pair; runs at once (jobs) and threads per run
    "tiny": dict(seeds=[0], one_step=20, noised=20, lmm=20, pairs=500, toy=5, samples=300, toy_samples=500,
                 width=16, batch=64, reflow_steps=10, threads=1, jobs=2),
    "quick": dict(seeds=[0], one_step=1000, noised=2000, lmm=4000, pairs=50000, toy=500, samples=1000,
                  toy_samples=1000, width=256, batch=512, reflow_steps=25, threads=1, jobs=2),
    "full": dict(seeds=[0, 1, 2], one_step=4000, noised=8000, lmm=16000, pairs=200000, toy=3000, samples=2500,
                 toy_samples=2000, width=256, batch=512, reflow_steps=25, threads=1, jobs=2),
}
DATASETS = ["grid25", "8gaussians", "moons"]
MIXTURES = {"grid25", "8gaussians"}  # those with an analytic teacher
ROWS = ["ign", "naign", "ot-naign (M = 2N)", "sign (σ_max 5)", "edm", "fm independent", "fm ot", "fm sinkhorn",
        "fm reflow (2-RF)", "lmm"]
TOY_ROWS = ["data", "fm", "ot128", "ot256", "rf2", "edm", "lmm", "sign", "signreg"]
SAMPLE_NFE = [1, 2, 4]
# Milliseconds per training step at width 256, batch 512, one thread (measured once on the 2-core
# build machine): only the ETA's weights.
STEP_MS = {"ign": 8, "naign": 25, "ot-naign (M = 2N)": 23, "sign (σ_max 5)": 10, "edm": 3, "fm independent": 3,
           "fm ot": 12, "fm sinkhorn": 20, "fm reflow (2-RF)": 20, "lmm": 4}


class Runner:
    """Runs commands into hashed folders, `jobs` at once, with a progress line and an ETA."""

    def __init__(self, args, total_weight):
        self.args, self.started, self.total_weight = args, time.time(), total_weight
        self.done_weight, self.done, self.begun, self.total = 0.0, 0, 0, 0
        self.lock = threading.Lock()

    def folder(self, name, command):
        key = hashlib.sha1(json.dumps(command).encode()).hexdigest()[:10]
        slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return os.path.join(self.args.out, f"{slug}-{key}")

    def run(self, name, command, product, weight):
        """Runs `command` (OUT is replaced by its folder) unless `product` exists; returns the folder."""
        folder = self.folder(name, command)
        target = os.path.join(folder, product)
        if not os.path.exists(target):
            os.makedirs(folder, exist_ok=True)
            with self.lock:
                self.begun += 1
                elapsed = time.time() - self.started
                eta = (elapsed / self.done_weight * (self.total_weight - self.done_weight)
                       if self.done_weight > 0 else float("nan"))
                print(f"coupling-benchmark: run {self.begun}, {self.done}/{self.total} done: {name} "
                      f"(elapsed {elapsed:.0f} s, ETA {eta:.0f} s)", file=sys.stderr, flush=True)
            real = [c.replace("OUT", folder) for c in command]
            if real[1] in ("train", "sample") and real[0] == self.args.cli:  # beside run.log; a failed run is redone
                real.insert(2, "--force")
            with open(os.path.join(folder, "run.log"), "w") as log:
                status = subprocess.run(real, stdout=log, stderr=subprocess.STDOUT).returncode
            if status != 0 or not os.path.exists(target):
                raise RuntimeError(f"{name} failed (exit {status}); see {folder}/run.log")
        with self.lock:
            self.done += 1
            self.done_weight += weight
        return folder


def plan(budget):
    """The runs, each (dataset, row label, name, command, product, weight): label None for a pair
    file, "samples NFE k" for samples of row `of` — (…, of) as a seventh entry. A command names the
    runs it needs with @NAME/FILE; they come earlier in the list."""
    b = BUDGETS[budget]
    common = ["--width", str(b["width"]), "--batch", str(b["batch"]), "--samples", str(b["samples"]),
              "--threads", str(b["threads"])]
    scale = b["width"] * b["batch"] / (256 * 512)
    runs = []
    for seed in b["seeds"]:
        s = ["--seed", str(seed)]
        for ds in DATASETS:
            trained = {}

            def train(label, steps, *extra):
                name = f"{ds}-{label}-s{seed}"
                runs.append((ds, label, name, ["CLI", "train", "--dataset", ds, "--steps", str(steps), *common, *s,
                                               *extra, "--out", "OUT"], "metrics.json", steps * STEP_MS[label] * scale))
                trained[label] = name
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
                         "pairs.safetensors", b["pairs"] * 0.025))
            train("lmm", b["lmm"], "--method", "lmm", "--activation", "silu", "--pairs", f"@{pairs}/pairs.safetensors")
            if seed == b["seeds"][0]:  # the sample grid: every row at NFE 1, 2, 4 by one fixed sampler
                for label, name in trained.items():
                    for k in SAMPLE_NFE:
                        runs.append((ds, f"samples NFE {k}", f"{name}-nfe{k}",
                                     ["CLI", "sample", "--checkpoint", f"@{name}/model.safetensors", "--n", "1000",
                                      "--threads", str(b["threads"]), *sample_options(label, k), "--out", "OUT"],
                                     "samples.csv", 50, label))
        runs.append(("toy128", "*", f"toy128-s{seed}",
                     ["TOY128", "--steps", str(b["toy"]), "--width", str(b["width"]), "--samples", str(b["toy_samples"]),
                      "--threads", str(b["threads"]), *s, "--out", "OUT"], "metrics.json", b["toy"] * 60 * scale))
    return runs


def sample_options(label, k):
    """The sampler with exactly k network evaluations for a row of the table."""
    if label in ("ign", "naign", "ot-naign (M = 2N)"):
        return ["--steps", str(k)]  # f^k(z)
    if label.startswith("sign"):
        return ["--sampler", "multistep", "--steps", str(k)]  # SIGN Alg. 3
    if label == "lmm":
        return ["--sampler", "multistep", "--steps", str(k)]
    return ["--sampler", "euler", "--steps", str(k)]  # edm's PF-ODE, fm's flow ODE


def needs(command):
    return [c[1:].split("/", 1)[0] for c in command if c.startswith("@")]


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
    if "nfe_table" in m:
        rows, nfe = m["nfe_table"], "nfe"
    elif "multistep" in m:  # SIGN: Alg. 3 with k NFE
        rows, nfe = m["multistep"], "nfe"
    else:  # IGN, NAIGN: k applications of f
        rows, nfe = m["iterates"], "applications"
    return [(r[nfe], r["mmd2"], r["sliced_w2"], r.get("modes_hit"), r.get("modes_balanced")) for r in rows]


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


def share(r):
    return r["coupling_seconds"] / r["seconds"] if r["seconds"] > 0 else None


TEACHER_ROWS = ["lmm", "sign (σ_max 5)"]  # rows whose teacher is the analytic mixture on MIXTURES


def conclusions(results):
    """Sentences read off the tables: per dataset, the NFE-1 ranking (by the worst seed's MMD², so
    a winner must win on every seed), and the cost of the winner."""
    lines = ["## What the tables say (generated from them)", ""]
    for ds in DATASETS:
        worst = {label: max((at_nfe(r["entries"], 1) or (0, math.inf))[1] for r in seeds)
                 for label, seeds in results[ds].items()}
        ranked = sorted(worst, key=worst.get)
        first, second = ranked[0], ranked[1]
        seconds = statistics.fmean(r["seconds"] for r in results[ds][first])
        best_any = min(results[ds], key=lambda label: max(min(e[1] for e in r["entries"]) for r in results[ds][label]))
        line = (f"- **{ds}**: at NFE 1, by the worst seed's MMD², **{first}** ({worst[first]:.3g}) beats "
                f"{second} ({worst[second]:.3g}) and {ranked[2]} ({worst[ranked[2]]:.3g}); last is "
                f"{ranked[-1]} ({worst[ranked[-1]]:.3g}). The winner trains in {seconds:.0f} s. At any NFE "
                f"the best is {best_any}.")
        if ds in MIXTURES:  # LMM's pairs and SIGN's scores come from the mixture's exact score here
            from_data = [label for label in ranked if label not in TEACHER_ROWS]
            line += (f" {' and '.join(TEACHER_ROWS)} learn from the mixture's exact score, which no other row "
                     f"sees; of the rows that learn from samples alone, **{from_data[0]}** "
                     f"({worst[from_data[0]]:.3g}) is first at NFE 1.")
        lines.append(line)
    lines.append("")
    return lines


def report(results, toy, budget, commit):
    b = BUDGETS[budget]
    lines = [f"# The coupling benchmark ({budget} budget)", "",
             f"Made by `scripts/coupling-benchmark.sh --budget {budget}` from commit {commit}. Every cell is the mean "
             "± sample standard deviation over the seeds "
             f"({', '.join(map(str, b['seeds']))}); MMD² and sliced W2 against fresh data, modes for "
             "the mixtures; NFE k is the best sampler of the method at k network evaluations (one-step methods: k "
             "applications of f; SIGN: Alg. 3); *best* is the lowest MMD² over every NFE the run evaluated. "
             "Straightness is S₂ = E∫‖ẋ − (x₁ − x₀)‖² dt of 100-step Euler, raw and normalised by E‖x₁ − x₀‖² "
             "(flow time for fm, t = 1 − σ/σ_max for edm and lmm). Train time is "
             f"wall-clock with {b['jobs']} runs at once on {b['threads']} thread(s) each; *coupling %* is the "
             "share of it spent making the step's pairs (drawing candidates and their images, the costs, the "
             "solver, reflow's ODE; LMM's stored pairs are made once, their time is the *pairs s* column). "
             f"Steps: {b['one_step']} (IGN, NAIGN, SIGN), {b['noised']} (EDM, FM), {b['lmm']} (LMM); width "
             f"{b['width']}, batch {b['batch']}; reflow pairs by {b['reflow_steps']} Euler steps of the "
             "independent flow.", ""]
    lines += conclusions(results)
    for ds in DATASETS:
        lines += [f"## {ds}", "", "| method | NFE 1 MMD² | NFE 2 | NFE 4 | best MMD² (NFE) | NFE 1 sliced W2 | "
                  "NFE 1 modes hit / balanced | S₂ raw / normalised | train s | coupling % | pairs s |",
                  "|---|" + "---|" * 10]
        for label, seeds in results[ds].items():
            def col(k, index):
                return summary([(at_nfe(r["entries"], k) or (None,) * 5)[index] for r in seeds])
            best = [min(r["entries"], key=lambda e: e[1]) for r in seeds]
            modes = [at_nfe(r["entries"], 1) for r in seeds]
            shares = [100 * share(r) for r in seeds if share(r) is not None]
            lines.append("| " + " | ".join([
                label, col(1, 1), col(2, 1), col(4, 1),
                summary([e[1] for e in best]) + " (" + "/".join(str(e[0]) for e in best) + ")", col(1, 2),
                summary([e[3] for e in modes if e]) + " / " + summary([e[4] for e in modes if e]),
                summary([r["straightness_raw"] for r in seeds]) + " / " + summary([r["straightness"] for r in seeds]),
                summary([r["seconds"] for r in seeds], 3),
                summary(shares, 2), summary([r["pairs_seconds"] for r in seeds], 3)]) + " |")
        lines.append("")
    lines += ["## LMM's 128-d toy (examples/toy128.cpp)", "",
              "| method | NFE 1 sliced W2 | NFE 1 MMD² | NFE 1 + mass | NFE 2 sliced W2 | NFE 2 MMD² | S₂ normalised | "
              "train s | coupling % |", "|---|" + "---|" * 8]
    for label, seeds in toy.items():
        lines.append("| " + " | ".join([
            label, summary([r["nfe1"]["sliced_w2"] for r in seeds]), summary([r["nfe1"]["mmd2"] for r in seeds]),
            summary([r["nfe1"]["plus_mass"] for r in seeds]), summary([r["nfe2"]["sliced_w2"] for r in seeds]),
            summary([r["nfe2"]["mmd2"] for r in seeds]),
            summary([r["straightness_p2_normalized"] if r["straightness_p2_normalized"] >= 0 else None for r in seeds]),
            summary([r["train_seconds"] for r in seeds], 3),
            summary([100 * r["coupling_seconds"] / r["train_seconds"] if r["train_seconds"] > 0 else None
                     for r in seeds], 2)]) + " |")
    lines += ["", "The 2-RF and SIGN + regression rows' train time includes making their 20 000 stored pairs.", ""]
    return "\n".join(lines) + "\n"


def plots(python, results_json, doc_dir):
    """Runs plots.py into DOC_DIR/couplings/; the Markdown that shows what it drew ('' if nothing)."""
    folder = os.path.join(doc_dir, "couplings")
    names = ["quality_vs_nfe.png", "quality_vs_time.png"] + [f"samples_{ds}.png" for ds in DATASETS]
    for name in names:  # never show last run's pictures as this run's
        if os.path.exists(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))
    subprocess.run([python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "plots.py"), results_json, folder])
    drawn = [n for n in names if os.path.exists(os.path.join(folder, n))]
    if not drawn:
        return ""
    lines = ["## Plots (bench/couplings/plots.py, matplotlib)", ""]
    lines += [f"![{n[:-4]}](couplings/{n})" for n in drawn]
    return "\n".join(lines) + "\n"


def execute(runs, args):
    """Runs everything (dependencies first), `jobs` at once; returns {name: folder}."""
    b = BUDGETS[args.budget]
    runner = Runner(args, sum(r[5] for r in runs))
    runner.total = len(runs)
    futures = {}

    def one(run, dependencies):
        folders = {name: f.result() for name, f in dependencies.items()}  # a failed dependency raises here
        return runner.run(run[2], resolve(run[3], folders, args), run[4], run[5])

    # Submitted in plan order, taken first in, first out: a run's dependencies have started (on
    # another worker) or finished before it starts waiting for them, so the wait always ends.
    with concurrent.futures.ThreadPoolExecutor(max_workers=b["jobs"]) as pool:
        for run in runs:
            futures[run[2]] = pool.submit(one, run, {d: futures[d] for d in needs(run[3])})
    failures = [str(f.exception()) for f in futures.values() if f.exception()]
    if failures:
        sys.exit("coupling-benchmark: " + "; ".join(failures))
    return {name: f.result() for name, f in futures.items()}


def collect(runs, folders):
    results = {ds: {} for ds in DATASETS}
    toy, samples = {}, {ds: {} for ds in DATASETS}
    for run in runs:
        ds, label, name, _, product, _ = run[:6]
        if label is None:  # a pair file: its seconds go to the LMM row of the same dataset and seed
            continue
        path = os.path.join(folders[name], product)
        if label.startswith("samples"):
            samples[ds].setdefault(run[6], {})[int(label.split()[-1])] = path
            continue
        m = json.load(open(path))
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
            "entries": nfe_entries(m), "seconds": m["train_seconds"], "coupling_seconds": m["coupling_seconds"],
            "straightness": m.get("straightness", {}).get("p2_normalized"),
            "straightness_raw": m.get("straightness", {}).get("p2"), "pairs_seconds": pairs_seconds})
    return results, toy, samples


def check(results, toy, samples):
    """Every cell finite, every row and sample file present; the list of what is wrong."""
    bad = []
    for ds in DATASETS:
        for label, seeds in results[ds].items():
            for r in seeds:
                for e in r["entries"]:
                    if not all(math.isfinite(v) for v in e[1:3]):
                        bad.append(f"{ds} {label}: {e}")
                if not at_nfe(r["entries"], 1):
                    bad.append(f"{ds} {label}: no NFE-1 entry")
                if not (0 <= r["coupling_seconds"] <= r["seconds"]):
                    bad.append(f"{ds} {label}: coupling seconds {r['coupling_seconds']} of {r['seconds']}")
        if list(results[ds]) != ROWS:
            bad.append(f"{ds}: rows {list(results[ds])}")
        if sorted(samples[ds]) != sorted(ROWS) or any(sorted(v) != SAMPLE_NFE for v in samples[ds].values()):
            bad.append(f"{ds}: samples of {sorted(samples[ds])}")
    for label, seeds in toy.items():
        for r in seeds:
            for q in (r["nfe1"], r["nfe2"]):
                if not all(math.isfinite(v) for v in q.values()):
                    bad.append(f"toy128 {label}: {q}")
    if list(toy) != TOY_ROWS:
        bad.append(f"toy128: rows {list(toy)}")
    return bad


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cli", required=True)
    p.add_argument("--toy128", required=True)
    p.add_argument("--budget", choices=sorted(BUDGETS), default="quick")
    p.add_argument("--out", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--commit", default="(unknown)")
    p.add_argument("--plots", metavar="PYTHON", help="a Python with matplotlib: draw plots.py's PNGs next to --doc")
    p.add_argument("--check", action="store_true")
    p.add_argument("--fresh", action="store_true", help="remove --out first: train everything again")
    args = p.parse_args()
    if args.fresh and os.path.isdir(args.out):
        shutil.rmtree(args.out)
    started = time.time()
    runs = plan(args.budget)
    folders = execute(runs, args)
    results, toy, samples = collect(runs, folders)
    results_json = os.path.join(args.out, "results.json")
    with open(results_json + ".tmp", "w") as f:
        json.dump({"budget": args.budget, "rows": ROWS, "results": results, "toy128": toy, "samples": samples,
                   "sample_nfe": SAMPLE_NFE}, f)
    os.replace(results_json + ".tmp", results_json)
    text = report(results, toy, args.budget, args.commit)
    doc_dir = os.path.dirname(os.path.abspath(args.doc))
    os.makedirs(doc_dir, exist_ok=True)
    if args.plots:
        text += plots(args.plots, results_json, doc_dir)
    with open(args.doc + ".tmp", "w") as f:
        f.write(text)
    os.replace(args.doc + ".tmp", args.doc)
    print(f"coupling-benchmark: wrote {args.doc} and {args.out}/results.json ({len(runs)} runs, "
          f"{time.time() - started:.0f} s)", file=sys.stderr)
    if args.check:
        bad = check(results, toy, samples)
        if bad:
            print("coupling-benchmark: check failed:\n  " + "\n  ".join(bad), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
