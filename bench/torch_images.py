#!/usr/bin/env python3
"""The PyTorch side of bench/bench_images.cpp: one IGN training step on 28 x 28 images with the
same convolutional generator (stem conv 3x3 -> 32, LeakyReLU 0.2; two conv 4x4 stride 2 + GroupNorm
(8 groups) + LeakyReLU down to 64 x 7 x 7; two nearest up-samplings x2 + conv 3x3 + GroupNorm +
LeakyReLU back to 32 x 28 x 28; head conv 3x3 -> 1), l1 distance (sum over pixels, mean over the
batch), batch 64, AdamW, written as bench/torch_methods.py writes the mlp step (a frozen copy
synchronised every step, .detach() for stop-gradient). The batch is noise in [-1, 1]: the
arithmetic is that of any batch. Prints one JSON object, like bench/torch_train_step.py."""
import torch

from torch_common import form_from_args, ign_loss, report, set_up, synchronised_copy, time_ms, training_step


def conv_net(channels=(32, 64, 64), groups=8):
    act = lambda: torch.nn.LeakyReLU(0.2)
    layers = [torch.nn.Conv2d(1, channels[0], 3, 1, 1), act()]
    for prev, c in zip(channels, channels[1:]):
        layers += [torch.nn.Conv2d(prev, c, 4, 2, 1), torch.nn.GroupNorm(min(groups, c), c), act()]
    for c, prev in reversed(list(zip(channels, channels[1:]))):
        layers += [torch.nn.Upsample(scale_factor=2, mode="nearest"), torch.nn.Conv2d(prev, c, 3, 1, 1),
                   torch.nn.GroupNorm(min(groups, c), c), act()]
    layers += [torch.nn.Conv2d(channels[0], 1, 3, 1, 1)]
    return torch.nn.Sequential(*layers)


def dist(a, b):
    return (a - b).abs().flatten(1).sum(dim=1).mean()


def make_step(form, batch=64):
    torch.manual_seed(0)
    f = conv_net()
    f_copy, sync = synchronised_copy(f)
    opt = torch.optim.AdamW(f.parameters(), lr=1e-4, weight_decay=0.0)
    x = torch.rand(batch, 1, 28, 28) * 2 - 1

    def ign():
        return ign_loss(f, f_copy, x, torch.randn(batch, 1, 28, 28), dist)

    return training_step(ign, opt, form, before=sync)


def main():
    form = form_from_args()
    threads, blas = set_up()
    report("ign_conv_step/channels:32-64-64/batch:64", form, threads, blas, time_ms(make_step(form), 10))


if __name__ == "__main__":
    main()
