#!/usr/bin/env python3
"""Throughput of heatcap_torch.gradstats against a plain forward pass (and a forward + backward of the
batch-mean loss) on the same model, data and batch size.

    python python/examples/bench_cpu.py [--threads 2] [--n 4096] [--batch 256] [--device cpu] [--curvature K]

Prints examples/second for each and the ratio to the plain forward; with --curvature K also the cost of
the top-K Hessian eigenpairs and per-example projections (gradstats(curvature=...)). Synthetic data; models: an MLP
(784-512-512-10), a small CNN (2 conv + BatchNorm + linear on 1x28x28), a ResNet-18-like stack
(torchvision-free) on 3x32x32 with --resnet.
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import heatcap_torch  # noqa: E402


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.b1 = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1, stride=2)
        self.b2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 14 * 14, 10)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = F.relu(self.b2(self.c2(x)))
        return self.fc(x.flatten(1))


def rate(fn, loader, n):
    fn(next(iter(loader)))  # warm-up
    t = time.time()
    for batch in loader:
        fn(batch)
    return n / (time.time() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--n', type=int, default=4096)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--curvature', type=int, default=0, metavar='K', help='also time curvature={k: K} (0: skip)')
    ap.add_argument('--curvature-examples', type=int, default=256, metavar='M', help='per-example projections on M examples')
    ap.add_argument('--curvature-max-iter', type=int, default=100)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    print(f'torch {torch.__version__}, device {dev}, {a.threads} threads, N = {a.n}, batch {a.batch}')
    for name, model in (('mlp 784-512-512-10', MLP()), ('cnn 2conv+bn', CNN())):
        model = model.to(dev).eval()
        x = torch.randn(a.n, 1, 28, 28)
        y = torch.randint(0, 10, (a.n,))
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=a.batch)
        loss = nn.CrossEntropyLoss()

        def fwd(b):
            with torch.no_grad():
                model(b[0].to(dev))

        def fwdbwd(b):
            model.zero_grad()
            loss(model(b[0].to(dev)), b[1].to(dev)).backward()

        r_f = rate(fwd, loader, a.n)
        r_fb = rate(fwdbwd, loader, a.n)
        P = sum(p.numel() for p in model.parameters())
        print(f'{name} ({P} parameters): forward {r_f:.0f} ex/s; forward+backward (batch mean) {r_fb:.0f} ex/s ({r_f / r_fb:.1f}x slower)')
        for method in ('vmap', 'hooks'):
            t = time.time()
            doc = heatcap_torch.gradstats(model, loss, loader, method=method, progress=False, device=dev)
            r = a.n / (time.time() - t)
            print(f'  gradstats method={doc["method"]}: {r:.0f} ex/s ({r_f / r:.1f}x slower than the forward)')
        if a.curvature:
            t = time.time()
            doc = heatcap_torch.gradstats(model, loss, loader, progress=False, device=dev, curvature={
                'k': a.curvature, 'max_examples': a.curvature_examples, 'max_iter': a.curvature_max_iter})
            c = doc['curvature']
            print(f'  curvature k={c["k"]}: {c["seconds"]:.1f} s = {c["cost_gradient_passes"]:.1f} gradstats passes; '
                  f'{c["iterations"]} Lanczos steps, largest residual {max(c["residuals"]):.1e} ({"converged" if c["converged"] else "not converged"}); '
                  f'per-example ({c["per_example_method"]}) on {c["n"]} examples; lambda_1 = {c["eigenvalues"][0]:.4g} '
                  f'(total {time.time() - t:.1f} s)')


if __name__ == '__main__':
    main()
