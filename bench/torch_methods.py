#!/usr/bin/env python3
"""The PyTorch side of bench/bench_methods.cpp: one IGN, one NAIGN and one SIGN training step,
written the way the public implementations write them (a frozen copy f_copy synchronised every
step for θ', .detach() for stop-gradient), mlp 2 -> 512 -> 512 -> 512 -> 2, ReLU, batch 512,
AdamW, l2 distance; NAIGN with M = 5120 IMLE candidates searched under no_grad; SIGN with an EDM
teacher (torch_diffusion.py's width-256 denoiser) run under no_grad; OT-coupled NAIGN (M = N
candidates assigned one-to-one to the data by POT's exact solver, ot.emd: the fastest of POT, SciPy
and lap on these costs, bench/compare_ot.sh) when POT is installed.
Prints one JSON object per step kind, like bench/torch_train_step.py."""
import torch

try:
    import ot
except ImportError:  # the OT step is left out without POT (scripts/install-deps.sh --bench)
    ot = None

from torch_common import form_from_args, ign_loss, report, set_up, synchronised_copy, time_ms, training_step
from torch_diffusion import Net, denoise, karras_grid


def mlp(width=512):
    return torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
                               torch.nn.ReLU(), torch.nn.Linear(width, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, 2))


def dist(a, b):
    return torch.linalg.vector_norm(a - b, dim=1).mean()


def make_steps(form, batch=512, m=5120):
    torch.manual_seed(0)
    f = mlp()
    f_copy, sync = synchronised_copy(f)
    opt = torch.optim.AdamW(f.parameters(), lr=1e-4, weight_decay=0.0)
    x = torch.randn(batch, 2) * 2

    def ign():
        return ign_loss(f, f_copy, x, torch.randn(batch, 2), dist)

    def naign():  # NAIGN eq. 11 with the supplement's modified idempotence
        zc = torch.randn(m, 2)
        with torch.no_grad():
            idx = torch.cdist(x, f(zc)).argmin(dim=1)
        imle = dist(f(zc[idx]), x)
        rec = dist(f(x), x)
        z = torch.randn(batch, 2)
        fz = f(z)
        idem1 = dist(fz, f_copy(fz))
        fq = f(fz.detach())
        idem2 = dist(fq, f_copy(fq))
        return rec + imle + 0.5 * (idem1 + idem2)

    teacher = Net().requires_grad_(False)
    grid = torch.cat([karras_grid(), torch.zeros(1)])  # 18 points from 80 down to 0.002, then 0
    sigma_max = 80.0

    def sign():  # SIGN eq. 9 (lambda_d = 0, every weight 1): rec + idem (eq. 4) + flow (eq. 8) + denoise
        n = torch.randint(0, grid.shape[0] - 1, (batch,))
        t_n, t_s = grid[n], grid[n + 1]
        x_tn = x + t_n[:, None] * torch.randn(batch, 2)
        with torch.no_grad():  # one Euler step of the teacher's PF-ODE (SIGN eq. 2), then f at x_{t_s}
            x_ts = x_tn + ((t_s - t_n) / t_n)[:, None] * (x_tn - denoise(teacher, x_tn, t_n))
            target = f(x_ts)
        f_x_tn = f(x_tn)
        fz = f(sigma_max * torch.randn(batch, 2))
        return dist(f(x), x) + dist(fz, f_copy(fz)) + dist(f_x_tn, target) + dist(f_x_tn, x)

    coupled = {}

    def assign():  # the coupling, outside the compiled graph (POT runs on NumPy): f_copy is f
        sync()
        zc = torch.randn(batch, 2)
        with torch.no_grad():
            costs = torch.cdist(f(zc), x).double().numpy()  # D(f(z_j), x_i), the l2 metric
        plan = ot.emd(ot.unif(batch), ot.unif(batch), costs)  # a permutation matrix / batch
        coupled["z"] = zc[torch.from_numpy(plan.argmax(axis=0))]  # target i's candidate

    def ot_naign():  # NAIGN eq. 11 over the assignment: every data point its own candidate
        imle = dist(f(coupled["z"]), x)
        rec = dist(f(x), x)
        fz = f(torch.randn(batch, 2))
        idem1 = dist(fz, f_copy(fz))
        fq = f(fz.detach())
        idem2 = dist(fq, f_copy(fq))
        return rec + imle + 0.5 * (idem1 + idem2)

    steps = [training_step(ign, opt, form, before=sync), training_step(naign, opt, form, before=sync),
             training_step(sign, opt, form, before=sync)]
    return steps + ([training_step(ot_naign, opt, form, before=assign)] if ot is not None else [])


def main():
    form = form_from_args()
    threads, blas = set_up()
    names = ["ign_step/width:512/batch:512", "naign_step/width:512/batch:512/M:5120",
             "sign_step/width:512/batch:512/teacher:256", "ot_naign_step/width:512/batch:512/M:512"]
    for name, step in zip(names, make_steps(form)):
        report(name, form, threads, blas, time_ms(step, 20))


if __name__ == "__main__":
    main()
