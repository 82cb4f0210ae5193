#!/usr/bin/python3
"""The PyTorch side of bench/bench_train_step.cpp: the same mlp training step on the CPU.

2 -> W -> W -> W -> 2, ReLU, float32, AdamW, loss = mean((net(x) - y)^2), fixed thread count.
Prints one JSON object per configuration: {"name", "width", "batch", "threads", "ms", "blas",
"coretype"}; "ms" is the median over repetitions of the mean step time.

Refuses to report when the process loaded the reference BLAS (about 50x slower than OpenBLAS):
a ratio against that would flatter us.
"""
import json
import os
import sys

import torch

from torch_common import loaded_blas, time_ms


def step_time_ms(width, batch, threads, steps, repetitions):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(2, width), torch.nn.ReLU()]
    for _ in range(2):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(width, 2))
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x, y = torch.randn(batch, 2), torch.randn(batch, 2)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()

    return time_ms(step, steps, repetitions)


def main():
    threads = int(os.environ.get("IDEMGEN_BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    torch.randn(64, 64) @ torch.randn(64, 64)  # load the BLAS before looking for it
    blas = loaded_blas()
    if not any("openblas" in b or "mkl" in b for b in blas):
        sys.exit(f"torch_train_step.py: PyTorch loaded {blas or 'no BLAS'}, not OpenBLAS/MKL; "
                 "install libopenblas0-openmp and select it with update-alternatives "
                 "(libblas.so.3-x86_64-linux-gnu) before comparing")
    for width, batch, steps in [(512, 512, 50), (64, 256, 500)]:
        ms = step_time_ms(width, batch, threads, steps, repetitions=5)
        print(json.dumps({"name": f"mlp_train_step/width:{width}/batch:{batch}", "width": width,
                          "batch": batch, "threads": threads, "ms": round(ms, 4),
                          "torch": torch.__version__, "blas": blas,
                          "coretype": os.environ.get("OPENBLAS_CORETYPE", "(auto)")}))


if __name__ == "__main__":
    main()
