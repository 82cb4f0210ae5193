"""A checkpoint of the idemgen program, loaded in PyTorch, reproduces the program's samples.

    python test_idemgen_torch.py IDEMGEN_PROGRAM WORK_DIR

For a one-step method (NAIGN: f(z)), a denoiser (LMM, one step of its multistep sampler:
D(σ_max ε; σ_max)) and a velocity (flow matching, one Euler step: ε + v(ε, 0)), it trains a
small model with the program, samples it with --save-noise, builds the torch.nn module from the
checkpoint with idemgen_torch.load (through the real safetensors package) and compares its
output on the saved noise with the program's samples.csv: equal to float rounding. It also
checks that the raw and the EMA weights are both loadable and differ, and that a checkpoint of
the wrong format is refused. Exits 0 when every check holds, 1 otherwise.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import idemgen_torch  # noqa: E402

program, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def run(*args):
    subprocess.run([program, *args], check=True, stdout=subprocess.DEVNULL)


def csv(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)


def check(name, ours, theirs):
    # Float rounding: the program's GEMMs and PyTorch's sum in other orders.
    err = float(np.max(np.abs(ours - theirs) / (1 + np.abs(theirs))))
    print(f"{name}: {len(ours)} samples, largest relative difference {err:.3g}")
    if not err < 1e-4:
        failures.append(f"{name}: torch differs from the program by {err:.3g}")


def trained(method, *extra):
    out = os.path.join(work, method)
    run("train", "--method", method, "--dataset", "grid25", "--width", "32", "--depth", "2", "--batch", "64",
        "--samples", "100", "--ema", "0.9", "--out", out, *extra)
    return out


def sampled(run_dir, *extra):
    out = run_dir + "-sample"
    run("sample", "--checkpoint", run_dir + "/model.safetensors", "--n", "256", "--save-noise", "--out", out, *extra)
    return csv(out + "/noise.csv"), csv(out + "/samples.csv")


with torch.no_grad():
    naign = trained("naign", "--steps", "60")
    z, samples = sampled(naign)
    f = idemgen_torch.load(naign + "/model.safetensors")
    check("naign f(z)", f(torch.from_numpy(z)).numpy(), samples)
    raw = idemgen_torch.load(naign + "/model.safetensors", weights="raw")
    if f.weights != "ema" or raw.weights != "raw" or torch.equal(raw.layers[0].weight, f.layers[0].weight):
        failures.append("naign: the EMA and the raw weights should both load and differ")

    lmm = trained("lmm", "--steps", "60")
    eps, samples = sampled(lmm, "--sampler", "multistep", "--steps", "1")
    d = idemgen_torch.load(lmm + "/model.safetensors")
    x = torch.from_numpy(eps) * d.sigma_max
    check("lmm D(sigma_max eps; sigma_max)", d(x, torch.full((len(x),), d.sigma_max)).numpy(), samples)

    fm = trained("fm", "--steps", "60")
    eps, samples = sampled(fm, "--sampler", "euler", "--steps", "1")
    v = idemgen_torch.load(fm + "/model.safetensors")
    x = torch.from_numpy(eps)
    check("fm eps + v(eps, 0)", (x + v(x, torch.zeros(len(x)))).numpy(), samples)

try:
    idemgen_torch.load(os.path.join(work, "naign-sample", "metrics.json"))
    failures.append("a file that is not a checkpoint was loaded")
except Exception as e:  # the safetensors package's error for a file that is not one
    print(f"not a checkpoint: refused ({type(e).__name__})")

for line in failures:
    print("FAILED:", line)
sys.exit(1 if failures else 0)
