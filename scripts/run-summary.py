#!/usr/bin/env python3
"""One screen about a trained run, from its metrics.json: what was trained, for how long, and the
quality of its samples at NFE 1, 2 and 4 against fresh data (with the estimator's data-vs-data
floor), then the files the run wrote. Standard library only.

  run-summary.py DIR
"""
import json, os, sys


def rows(m):
    """(NFE, how, quality) with the best MMD² per NFE ≤ 8, from any method's metrics.json."""
    if "nfe_table" in m:
        entries = [(r["nfe"], f'{r["sampler"]} {r["steps"]}', r) for r in m["nfe_table"]]
    else:
        entries = [(r["applications"], f'f^{r["applications"]}(z)', r) for r in m["iterates"]]
        entries += [(r["nfe"], "Alg. 3", r) for r in m.get("multistep", [])]
    best = {}
    for nfe, how, r in entries:
        if nfe <= 8 and (nfe not in best or r["mmd2"] < best[nfe][2]["mmd2"]):
            best[nfe] = (nfe, how, r)
    return [best[k] for k in sorted(best)]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: run-summary.py DIR")
    out = sys.argv[1]
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    print(f"\n== {m['method']} ({m['coupling']} coupling) on {m['dataset']}: {m['steps']} steps in "
          f"{m['train_seconds']:.0f} s (the coupling {100 * m['coupling_seconds'] / max(m['train_seconds'], 1e-9):.0f} %)")
    print(f"   quality of {m['samples']} samples against fresh data (MMD² floor, data against data: "
          f"{m['mmd2_data_vs_data']:.2g})")
    print(f"   {'NFE':>3}  {'sampler':<14} {'MMD²':>9} {'sliced W2':>10} {'modes hit':>10} {'balanced':>9}")
    for nfe, how, r in rows(m):
        modes = f"{r.get('modes_hit', '–')}/{r['modes']}" if r.get("modes") else "–"
        print(f"   {nfe:>3}  {how:<14} {r['mmd2']:>9.4f} {r['sliced_w2']:>10.4f} {modes:>10} "
              f"{r.get('modes_balanced', '–'):>9}")
    for key in ("idempotence_error", "reconstruction_error"):
        if key in m:
            print(f"   {key.replace('_', ' ')}: {m[key]:.4g}")
    print(f"   wrote {out}/: " + ", ".join(sorted(os.listdir(out))))


if __name__ == "__main__":
    main()
