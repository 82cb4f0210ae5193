#!/usr/bin/python3
"""The PyTorch side of bench/bench_diffusion.cpp: one flow-matching, one EDM and one CDM training
step, written the way EDM's and torchcfm's code write them: an MLP over [x; Fourier features of the
noise level] (2 + 32 -> 256 -> 256 -> 256 -> 2, ReLU), batch 512, AdamW; EDM preconditioning and
loss weight; CDM's two reverse-SDE chains (5 Euler-Maruyama steps) under no_grad and the unbiased
two-chain consistency term with weight 10.
Prints one JSON object per step kind, like bench/torch_methods.py."""
import json
import math
import os

import torch

from torch_common import loaded_blas, time_ms

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


def make_steps(batch=512):
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
    y = torch.randn(batch, 2) * 2.8

    def fm():
        opt.zero_grad(set_to_none=False)
        z = torch.randn(batch, 2)
        t = torch.rand(batch)
        x = t[:, None] * y + (1 - t[:, None]) * z
        loss = ((net(x, t) - (y - z)) ** 2).sum(1).mean()
        loss.backward()
        opt.step()

    def dsm_terms():
        sigma = (torch.randn(batch) * P_STD + P_MEAN).exp()
        x = y + sigma[:, None] * torch.randn(batch, 2)
        h0 = denoise(net, x, sigma)
        weight = (sigma**2 + SIGMA_DATA**2) / (sigma * SIGMA_DATA) ** 2
        return (weight * ((h0 - y) ** 2).sum(1)).mean(), x, sigma, h0

    def edm():
        opt.zero_grad(set_to_none=False)
        loss, _, _, _ = dsm_terms()
        loss.backward()
        opt.step()

    def cdm(points=6, rho=7.0, eps_max=0.05):
        opt.zero_grad(set_to_none=False)
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
        loss = dsm + 10 * ((h1 - h0) * (h2 - h0)).sum(1).mean()
        loss.backward()
        opt.step()

    return fm, edm, cdm


def main():
    threads = int(os.environ.get("IDEMGEN_BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    fm, edm, cdm = make_steps()
    blas = loaded_blas()
    for name, step in [("fm_step/width:256/batch:512", fm), ("edm_step/width:256/batch:512", edm),
                       ("cdm_step/width:256/batch:512", cdm)]:
        print(json.dumps({"name": name, "threads": threads, "ms": round(time_ms(step, 50), 3),
                          "torch": torch.__version__, "blas": blas,
                          "coretype": os.environ.get("OPENBLAS_CORETYPE", "(auto)")}))


if __name__ == "__main__":
    main()
