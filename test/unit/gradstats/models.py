"""Small models and data for the heatcap_torch tests (run by test/unit/gradstats/*.test.ts with /usr/bin/python3)."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'python'))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 16)
        self.drop = nn.Dropout(0.5)  # off in eval()
        self.ln = nn.LayerNorm(16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(self.ln(torch.tanh(self.drop(self.fc1(x)))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 3 * 3, 10)

    def forward(self, x):
        x = x.reshape(-1, 1, 8, 8)
        x = F.relu(self.bn(self.conv(x)))
        x = F.relu(self.conv2(x))
        return self.fc(x.flatten(1))


class Tok(nn.Module):
    """Embedding + LayerNorm + Linear over a short token sequence (hooks: Embedding, LayerNorm on 3-D input)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 6, padding_idx=0)
        self.ln = nn.LayerNorm(6)
        self.fc = nn.Linear(6, 3)

    def forward(self, t):
        return self.fc(self.ln(self.emb(t))).mean(1)


class Tied(nn.Module):
    """The embedding matrix also used directly as the output layer (tied weights): invisible to per-layer hooks."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 6)
        self.ln = nn.LayerNorm(6)

    def forward(self, t):
        return self.ln(self.emb(t).mean(1)) @ self.emb.weight[:3].t()


def digits(n=None, seed=0):
    import numpy as np

    x = np.load(os.path.join(REPO, 'examples', 'digits', 'data', 'x.npy')).astype('float32')
    y = np.load(os.path.join(REPO, 'examples', 'digits', 'data', 'y.npy')).astype('int64')
    if n is not None:
        idx = np.random.RandomState(seed).permutation(len(y))[:n]
        idx.sort()
        x, y = x[idx], y[idx]
    return torch.from_numpy(x), torch.from_numpy(y)


def make(kind, n=200, dtype=torch.float64):
    torch.manual_seed(0)
    if kind in ('tok', 'tied'):
        g = torch.Generator().manual_seed(1)
        x = torch.randint(0, 20, (n, 5), generator=g)
        y = torch.randint(0, 3, (n,), generator=g)
        m = Tok() if kind == 'tok' else Tied()
    else:
        x, y = digits(n)
        m = MLP() if kind == 'mlp' else CNN()
    if kind == 'cnn':  # non-trivial running statistics
        with torch.no_grad():
            m.bn.running_mean.uniform_(-0.2, 0.2)
            m.bn.running_var.uniform_(0.5, 2.0)
            m.bn.weight.uniform_(0.5, 1.5)
            m.bn.bias.uniform_(-0.1, 0.1)
    m = m.to(dtype)
    if x.is_floating_point():
        x = x.to(dtype)
    return m, x, y
