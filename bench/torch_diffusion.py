#!/usr/bin/env python3
"""The PyTorch side of bench/bench_diffusion.cpp: one flow-matching, one EDM and one CDM training
step, written the way EDM's and torchcfm's code write them: an MLP over [x; Fourier features of the
noise level] (2 + 32 -> 256 -> 256 -> 256 -> 2, ReLU), batch 512, AdamW; EDM preconditioning and
loss weight; CDM's two reverse-SDE chains (5 Euler-Maruyama steps) under no_grad and the unbiased
two-chain consistency term with weight 10; LMM's lines loss (LMM eq. 3) on 200 000 stored pairs,
sigma uniform over the 18-point Karras grid, RAdam; OT-CFM as torchcfm's users write it
(ExactOptimalTransportConditionalFlowMatcher, sigma 0: POT's exact plan over the squared Euclidean
costs of z and y, pairs drawn from the plan) when torchcfm is installed.
Prints one JSON object per step kind, like bench/torch_methods.py."""
import math

import torch

try:
    from torchcfm.conditional_flow_matching import ExactOptimalTransportConditionalFlowMatcher
except ImportError:  # the OT-CFM step is left out without torchcfm (scripts/install-deps.sh --bench)
    ExactOptimalTransportConditionalFlowMatcher = None

from torch_common import form_from_args, report, set_up, time_ms, training_step

SIGMA_DATA, P_MEAN, P_STD = 2.8, 0.52, 1.2


class Net(torch.nn.Module):
    def __init__(self, width=256, features=32, scale=2.0):
        super().__init__()
        self.register_buffer("freqs", torch.randn(features // 2) * 2 * math.pi * scale)
        self.body = torch.nn.Sequential(torch.nn.Linear(2 + features, width), torch.nn.ReLU(),
                                        torch.nn.Linear(width, width), torch.nn.ReLU(),
                                        torch.nn.Linear(width, width), torch.nn.ReLU(),
                                        torch.nn.Linear(width, 2))

    def forward(self, x, c):
        a = c[:, None] * self.freqs[None]
        return self.body(torch.cat([x, torch.cos(a), torch.sin(a)], dim=1))


def denoise(net, x, sigma):
    s = sigma[:, None]
    c_skip = SIGMA_DATA**2 / (s**2 + SIGMA_DATA**2)
    c_out = s * SIGMA_DATA / (s**2 + SIGMA_DATA**2).sqrt()
    c_in = 1 / (s**2 + SIGMA_DATA**2).sqrt()
    return c_skip * x + c_out * net(c_in * x, sigma.log() / 4)


def make_steps(form, batch=512):
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
    y = torch.randn(batch, 2) * 2.8

    def fm():
        z = torch.randn(batch, 2)
        t = torch.rand(batch)
        x = t[:, None] * y + (1 - t[:, None]) * z
        return ((net(x, t) - (y - z)) ** 2).sum(1).mean()

    def dsm_terms():
        sigma = (torch.randn(batch) * P_STD + P_MEAN).exp()
        x = y + sigma[:, None] * torch.randn(batch, 2)
        h0 = denoise(net, x, sigma)
        weight = (sigma**2 + SIGMA_DATA**2) / (sigma * SIGMA_DATA) ** 2
        return (weight * ((h0 - y) ** 2).sum(1)).mean(), x, sigma, h0

    def edm():
        return dsm_terms()[0]

    def cdm(points=6, rho=7.0, eps_max=0.05):
        dsm, x, sigma, h0 = dsm_terms()
        to = torch.clamp(sigma - torch.rand(batch) * eps_max, min=0.002)
        w = torch.cat([x, x])
        a, b = torch.cat([sigma, sigma]) ** (1 / rho), torch.cat([to, to]) ** (1 / rho)
        with torch.no_grad():
            for i in range(points - 1):
                s = (a + i / (points - 1) * (b - a)) ** rho
                s_next = (a + (i + 1) / (points - 1) * (b - a)) ** rho
                d = denoise(net, w, s)
                w = w + 2 * ((s_next - s) / s)[:, None] * (w - d) + \
                    (2 * s * (s - s_next)).sqrt()[:, None] * torch.randn_like(w)
        h = denoise(net, w, torch.cat([to, to]))
        h1, h2 = h[:batch], h[batch:]
        return dsm + 10 * ((h1 - h0) * (h2 - h0)).sum(1).mean()

    lmm_net = Net()
    lmm_opt = torch.optim.RAdam(lmm_net.parameters(), lr=1e-3)
    pairs_z, pairs_y = torch.randn(200000, 2), torch.randn(200000, 2) * 2.8
    grid = karras_grid()

    def lmm():  # LMM eq. 3: || N(y + sigma z, sigma) - y ||^2 over drawn pairs
        chosen = torch.randint(0, pairs_z.shape[0], (batch,))
        z, y_pair = pairs_z[chosen], pairs_y[chosen]
        sigma = grid[torch.randint(0, grid.shape[0], (batch,))]
        return ((denoise(lmm_net, y_pair + sigma[:, None] * z, sigma) - y_pair) ** 2).sum(1).mean()

    steps = [training_step(loss, opt, form) for loss in (fm, edm, cdm)] + [training_step(lmm, lmm_opt, form)]
    if ExactOptimalTransportConditionalFlowMatcher is None:
        return steps
    matcher, coupled = ExactOptimalTransportConditionalFlowMatcher(sigma=0.0), {}

    def couple():  # outside the compiled graph: the plan is POT's, on NumPy
        coupled["t"], coupled["x"], coupled["u"] = matcher.sample_location_and_conditional_flow(
            torch.randn(batch, 2), y)

    def ot_fm():
        return ((net(coupled["x"], coupled["t"]) - coupled["u"]) ** 2).sum(1).mean()

    return steps + [training_step(ot_fm, opt, form, before=couple)]


def karras_grid(steps=18, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    ramp = torch.linspace(0, 1, steps)
    return (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho


def main():
    form = form_from_args()
    threads, blas = set_up()
    names = ["fm_step/width:256/batch:512", "edm_step/width:256/batch:512", "cdm_step/width:256/batch:512",
             "lmm_step/width:256/batch:512", "ot_fm_step/width:256/batch:512"]
    for name, step in zip(names, make_steps(form)):
        report(name, form, threads, blas, time_ms(step, 50))


if __name__ == "__main__":
    main()
