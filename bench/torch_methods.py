#!/usr/bin/env python3
"""The PyTorch side of bench/bench_methods.cpp: one IGN and one NAIGN training step, written the
way the public implementations write them (a frozen copy f_copy synchronised every step for θ',
.detach() for stop-gradient), mlp 2 -> 512 -> 512 -> 512 -> 2, ReLU, batch 512, AdamW, l2
distance; NAIGN with M = 5120 IMLE candidates searched under no_grad.
Prints one JSON object per step kind, like bench/torch_train_step.py."""
import torch

from torch_common import form_from_args, ign_loss, report, set_up, synchronised_copy, time_ms, training_step


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

    return training_step(ign, opt, form, before=sync), training_step(naign, opt, form, before=sync)


def main():
    form = form_from_args()
    threads, blas = set_up()
    ign, naign = make_steps(form)
    for name, step in [("ign_step/width:512/batch:512", ign), ("naign_step/width:512/batch:512/M:5120", naign)]:
        report(name, form, threads, blas, time_ms(step, 20))


if __name__ == "__main__":
    main()
