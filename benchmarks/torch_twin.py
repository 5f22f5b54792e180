"""A PyTorch twin of the paper's PixInPix (two plain U-Nets, the same layers and parameter count), trained
with Adam on random 32x32 pairs: the yardstick of benchmarks/train_throughput.py. PyTorch only; run by
that benchmark with an interpreter that has torch (it is not a dependency of the package).

Prints one JSON line: {"parameters": N, "images_per_second": best of --rounds timed passes}.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn


def conv_stack(channels_in: int, filters: int, convs: int) -> nn.Sequential:
    layers = []
    for j in range(convs):
        layers += [nn.Conv2d(channels_in if j == 0 else filters, filters, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """pixinpix_tf.nets.unet.unet without batch norm: down steps, bottom, up steps, a 1x1 output conv."""

    def __init__(self, channels_in: int, channels_out: int, depth: int, base: int, cap: int, convs: int):
        super().__init__()
        filters = [min(base * 2**i, cap) for i in range(depth)]
        self.down = nn.ModuleList()
        channels = channels_in
        for f in filters:
            self.down.append(conv_stack(channels, f, convs))
            channels = f
        self.bottom = conv_stack(channels, filters[-1], convs)
        channels = filters[-1]
        self.upconv, self.up = nn.ModuleList(), nn.ModuleList()
        for f in reversed(filters):
            self.upconv.append(nn.ConvTranspose2d(channels, f, 2, stride=2))
            self.up.append(conv_stack(2 * f, f, convs))
            channels = f
        self.out = nn.Conv2d(channels, channels_out, 1)

    def forward(self, x):
        skips = []
        for step in self.down:
            x = step(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottom(x)
        for upconv, step, skip in zip(self.upconv, self.up, reversed(skips)):
            x = step(torch.cat([upconv(x), skip], dim=1))
        return self.out(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--base-filters", type=int, default=16)
    parser.add_argument("--max-filters", type=int, default=256)
    parser.add_argument("--convs-per-step", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (args.depth, args.base_filters, args.max_filters, args.convs_per_step)
    hider, revealer = UNet(6, 3, *shape), UNet(3, 3, *shape)
    parameters = list(hider.parameters()) + list(revealer.parameters())
    optimizer = torch.optim.Adam(parameters, 1e-3)
    cover, secret = (torch.rand(args.batch_size, 3, 32, 32) for _ in range(2))

    def step():
        stego = torch.sigmoid(hider(torch.cat([cover, secret], dim=1)))
        revealed = torch.sigmoid(revealer(stego))
        loss = nn.functional.mse_loss(stego, cover) + 0.75 * nn.functional.mse_loss(revealed, secret)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    best = 0.0
    for round_ in range(args.rounds + 1):  # the first round warms up
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rate = args.steps * args.batch_size / (time.perf_counter() - start)
        best = max(best, rate) if round_ else best
    print(json.dumps({"parameters": sum(p.numel() for p in parameters), "images_per_second": best}))


if __name__ == "__main__":
    main()
