"""The tables of bench/compare_torch.sh from its raw results (one folder of JSON files).
   compare_torch_report.py OUT ROUNDS THREADS...

For each thread count: per step, the step's FLOPs (from our benchmark's FLOP/s counter: the
arithmetic the step must do, the same count for both sides), our median time and PyTorch's eager
and compiled medians, the ratio against the faster PyTorch form (median of the per-round ratios,
with their range), and the fraction of the FMA peak (bench_peak, measured in the same run: the
larger of its 8- and 16-wide loops) that each side reaches. Then the thread scaling of each side.
"""
import glob
import json
import platform
import statistics
import sys

out, rounds, threads_list = sys.argv[1], int(sys.argv[2]), [int(t) for t in sys.argv[3:]]
medians = {}  # (threads, row label) -> (our median ms, faster PyTorch's median ms)

# The goals of issue 17, each against the faster PyTorch form.
GOALS = {
    "mlp_train_step/width:64/batch:256": ("overhead", 3.0),
    "fm_step/width:256/batch:512": ("overhead", 2.0),
    "edm_step/width:256/batch:512": ("overhead", 2.0),
    "lmm_step/width:256/batch:512": ("overhead", 2.0),  # not in the issue: FM's goal, the same shape of step
    "mlp_train_step/width:512/batch:512": ("gemm", 1.5),
    "ign_step/width:512/batch:512": ("gemm", 1.5),
    "naign_step/width:512/batch:512/M:5120": ("gemm", 1.5),
    "cdm_step/width:256/batch:512": ("gemm", 1.5),
    "sign_step/width:512/batch:512/teacher:256": ("gemm", 1.5),  # not in the issue: NAIGN's goal, the same shape of step
    "ign_conv_step/channels:32-64-64/batch:64": ("gemm", 1.5),  # issue 15: the MNIST-sized net's step
}


def peak(threads):
    """FLOP/s of the faster FMA loop at this thread count, median over rounds."""
    per_round = []
    for r in range(1, rounds + 1):
        best = 0.0
        for b in json.load(open(f"{out}/peak_{r}.json"))["benchmarks"]:
            if b["name"].endswith(f"threads:{threads}/real_time") and "FLOP/s" in b:
                best = max(best, b["FLOP/s"])
        per_round.append(best)
    return statistics.median(per_round), per_round


def ours(threads, tag="idemgen"):
    """name -> ([ms per round], flops per step), for our steps on the library's default GEMM
    ("idemgen") or, with compare_torch.sh --both-gemms, on each of OpenBLAS's and oneDNN's
    ("idemgen-openblas", "idemgen-onednn")."""
    times, flops = {}, {}
    for r in range(1, rounds + 1):
        for path in sorted(glob.glob(f"{out}/{tag}_*_{threads}_{r}.json")):
            for b in json.load(open(path))["benchmarks"]:
                if b.get("aggregate_name") != "median":
                    continue
                name = b["run_name"].split("/threads")[0].replace("/real_time", "")
                times.setdefault(name, []).append(b["real_time"])
                if "FLOP/s" in b:
                    flops[name] = b["FLOP/s"] * b["real_time"] / 1e3
    return times, flops


def theirs(threads):
    """(name, form) -> [ms per round], and the last record (version, BLAS)."""
    times, last = {}, None
    for r in range(1, rounds + 1):
        for line in open(f"{out}/torch_{threads}_{r}.jsonl"):
            t = json.loads(line)
            times.setdefault((t["name"], t["form"]), []).append(t["ms"])
            last = t
    return times, last


def row(threads, name, label, mine_ms, torch_times, flop, peak_flops):
    """One table row: our step `label` (per-round times mine_ms) against PyTorch's `name`."""
    eager = torch_times.get((name, "eager"), [])
    compiled = torch_times.get((name, "compile"), [])
    best = [min(e, c) for e, c in zip(eager, compiled)] if compiled else eager
    ratios = [b / o for b, o in zip(best, mine_ms)]
    ratio = statistics.median(ratios)
    m_ms, e_ms = statistics.median(mine_ms), statistics.median(eager)
    c_ms = statistics.median(compiled) if compiled else float("nan")
    b_ms = statistics.median(best)
    form = "compile" if c_ms < e_ms else "eager"
    gflop = flop / 1e9
    frac = lambda ms: f"{gflop / (ms / 1e3) / (peak_flops / 1e9) * 100:.0f} %" if gflop else "–"
    kind, target = GOALS.get(name, ("", 0))
    if not target:
        goal = "–"
    elif kind == "overhead":
        goal = f"≥ {target:g}×: {'met' if ratio >= target else 'not met'}"
    else:
        peak_needed = gflop / (b_ms / target / 1e3) / (peak_flops / 1e9) if gflop else 0
        goal = (f"≥ {target:g}×: met" if ratio >= target else
                f"≥ {target:g}× needs {peak_needed * 100:.0f} % of peak; we reach {frac(m_ms)}"
                + (" (≥ 80 %: met)" if gflop and gflop / (m_ms / 1e3) >= 0.8 * peak_flops else ""))
    print(f"| {label} | {gflop:.2f} | {m_ms:.3f} ({frac(m_ms)}) | {e_ms:.3f} | {c_ms:.3f} | "
          f"{form} ({frac(b_ms)}) | **{ratio:.2f}×** | {min(ratios):.2f}–{max(ratios):.2f}× | {goal} |")
    medians[(threads, label)] = (m_ms, b_ms)


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
simd = [f for f in ("avx2", "fma", "avx512f") if f in flags]
print(f"CPU: {cpu}, {platform.machine()}, {' '.join(simd)}; {rounds} interleaved rounds")
for threads in threads_list:
    peak_flops, peak_rounds = peak(threads)
    mine, flops = ours(threads)
    by_kernel = [("", mine)] + [(f" ({label})", ours(threads, tag)[0])
                                for tag, label in [("idemgen-openblas", "OpenBLAS"), ("idemgen-onednn", "oneDNN sgemm")]]
    flops = flops or ours(threads, "idemgen-openblas")[1]
    torch_times, record = theirs(threads)
    print(f"\n### {threads} thread(s): FMA peak {peak_flops / 1e9:.0f} GFLOP/s "
          f"(rounds {', '.join(f'{p / 1e9:.0f}' for p in peak_rounds)})\n")
    print("| step | GFLOP | idemgen ms (% of peak) | PyTorch eager ms | PyTorch compile ms | "
          "faster PyTorch (% of peak) | ratio: median of rounds | range | goal |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    names = [n for (n, f) in torch_times if f == "eager"]
    for name in names:
        for suffix, times in by_kernel:
            if name in times:
                row(threads, name, name + suffix, times[name], torch_times, flops.get(name, 0), peak_flops)
    print(f"\nPyTorch {record['torch']} ({record['cpu_capability']}), BLAS {', '.join(record['blas']) or '(built in)'}")

if len(threads_list) >= 2:
    lo, hi = threads_list[0], threads_list[-1]
    print(f"\n### Thread scaling, {lo} → {hi} threads: speed-up (efficiency = speed-up / {hi // lo})\n")
    print("| step | idemgen ms | speed-up (efficiency) | faster PyTorch ms | speed-up (efficiency) |")
    print("|---|---:|---:|---:|---:|")
    for (threads, name), (m_ms, b_ms) in medians.items():
        if threads != lo or (hi, name) not in medians:
            continue
        m_hi, b_hi = medians[(hi, name)]
        scale = hi / lo
        print(f"| {name} | {m_ms:.3f} → {m_hi:.3f} | {m_ms / m_hi:.2f}× ({m_ms / m_hi / scale * 100:.0f} %) | "
              f"{b_ms:.3f} → {b_hi:.3f} | {b_ms / b_hi:.2f}× ({b_ms / b_hi / scale * 100:.0f} %) |")
