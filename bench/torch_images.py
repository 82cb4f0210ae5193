#!/usr/bin/env python3
"""The PyTorch side of bench/bench_images.cpp: one IGN training step on 28 x 28 images with the
same convolutional generator (stem conv 3x3 -> 32, LeakyReLU 0.2; two conv 4x4 stride 2 + GroupNorm
(8 groups) + LeakyReLU down to 64 x 7 x 7; two nearest up-samplings x2 + conv 3x3 + GroupNorm +
LeakyReLU back to 32 x 28 x 28; head conv 3x3 -> 1), l1 distance (sum over pixels, mean over the
batch), batch 64, AdamW, written as bench/torch_methods.py writes the mlp step (a frozen copy
synchronised every step, .detach() for stop-gradient). And one EDM training step of the U-Net of
bench/bench_images.cpp's edm_unet_step (nn::unet: 64 Fourier features of c_noise = ln(sigma)/4 ->
128 -> 128, SiLU; per level a residual block with GroupNorm, SiLU, conv 3x3 and a per-channel
embedding shift, kept as the skip, and a conv 4x4 stride 2 down; a middle block; nearest up x2 +
conv 3x3, the skip concatenated by channel, a residual block 2c -> c; GroupNorm, SiLU, conv 3x3
head), EDM's preconditioning and loss weight, as EDM's training loop writes it. The batch is
noise in [-1, 1]: the arithmetic is that of any batch. Prints one JSON object a step, like
bench/torch_train_step.py."""
import math

import torch
import torch.nn.functional as F

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


class ResBlock(torch.nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.norm1, self.conv1 = torch.nn.GroupNorm(min(groups, cin), cin), torch.nn.Conv2d(cin, cout, 3, 1, 1)
        self.emb = torch.nn.Linear(emb, cout)
        self.norm2, self.conv2 = torch.nn.GroupNorm(min(groups, cout), cout), torch.nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = torch.nn.Conv2d(cin, cout, 1) if cin != cout else torch.nn.Identity()

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x))) + self.emb(e)[:, :, None, None]
        return self.skip(x) + self.conv2(F.silu(self.norm2(h)))


class UNet(torch.nn.Module):
    def __init__(self, channels=(32, 64, 64), groups=8, emb=128, features=64, scale=16.0):
        super().__init__()
        self.register_buffer("freqs", torch.randn(features // 2) * 2 * math.pi * scale)
        self.fc1, self.fc2 = torch.nn.Linear(features, emb), torch.nn.Linear(emb, emb)
        self.stem = torch.nn.Conv2d(1, channels[0], 3, 1, 1)
        pairs = list(zip(channels, channels[1:]))
        self.down = torch.nn.ModuleList(ResBlock(c, c, emb, groups) for c, _ in pairs)
        self.down_conv = torch.nn.ModuleList(torch.nn.Conv2d(c, n, 4, 2, 1) for c, n in pairs)
        self.middle = ResBlock(channels[-1], channels[-1], emb, groups)
        self.up_conv = torch.nn.ModuleList(torch.nn.Conv2d(n, c, 3, 1, 1) for c, n in pairs)
        self.up = torch.nn.ModuleList(ResBlock(2 * c, c, emb, groups) for c, _ in pairs)
        self.head_norm = torch.nn.GroupNorm(min(groups, channels[0]), channels[0])
        self.head = torch.nn.Conv2d(channels[0], 1, 3, 1, 1)

    def forward(self, x, c):
        a = c[:, None] * self.freqs[None]
        e = F.silu(self.fc2(F.silu(self.fc1(torch.cat([torch.cos(a), torch.sin(a)], dim=1)))))
        h, skips = self.stem(x), []
        for block, down in zip(self.down, self.down_conv):
            h = block(h, e)
            skips.append(h)
            h = down(h)
        h = self.middle(h, e)
        for level in reversed(range(len(self.up))):
            h = self.up_conv[level](F.interpolate(h, scale_factor=2, mode="nearest"))
            h = self.up[level](torch.cat([h, skips[level]], dim=1), e)
        return self.head(F.silu(self.head_norm(h)))


def make_edm_step(form, batch=64, sigma_data=0.5, p_mean=-1.2, p_std=1.2):
    torch.manual_seed(0)
    net = UNet()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.0)
    y = torch.rand(batch, 1, 28, 28) * 2 - 1

    def edm():
        sigma = (torch.randn(batch) * p_std + p_mean).exp()
        s = sigma[:, None, None, None]
        x = y + s * torch.randn_like(y)
        c_skip = sigma_data**2 / (s**2 + sigma_data**2)
        c_out = s * sigma_data / (s**2 + sigma_data**2).sqrt()
        c_in = 1 / (s**2 + sigma_data**2).sqrt()
        d = c_skip * x + c_out * net(c_in * x, sigma.log() / 4)
        weight = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
        return (weight * ((d - y) ** 2).flatten(1).sum(1)).mean()

    return training_step(edm, opt, form)


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
    report("edm_unet_step/channels:32-64-64/batch:64", form, threads, blas, time_ms(make_edm_step(form), 10))


if __name__ == "__main__":
    main()
