#!/usr/bin/env python3
"""The PyTorch side of bench/bench_train_step.cpp: the same mlp training step on the CPU.

2 -> W -> W -> W -> 2, ReLU, float32, AdamW, loss = mean((net(x) - y)^2), fixed thread count.
Prints one JSON object per configuration (torch_common.report); "ms" is the median over
repetitions of the mean step time. `--form eager|compile` picks plain PyTorch or torch.compile.
"""
import torch

from torch_common import form_from_args, report, set_up, time_ms, training_step


def step_time_ms(width, batch, form, steps, repetitions):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(2, width), torch.nn.ReLU()]
    for _ in range(2):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(width, 2))
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x, y = torch.randn(batch, 2), torch.randn(batch, 2)
    step = training_step(lambda: ((net(x) - y) ** 2).mean(), opt, form)
    return time_ms(step, steps, repetitions)


def main():
    form = form_from_args()
    threads, blas = set_up()
    for width, batch, steps in [(512, 512, 50), (64, 256, 500)]:
        ms = step_time_ms(width, batch, form, steps, repetitions=5)
        report(f"mlp_train_step/width:{width}/batch:{batch}", form, threads, blas, ms)


if __name__ == "__main__":
    main()
