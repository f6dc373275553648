"""heatcap_torch.noise against a known Sigma (THEORY.md section 4.1 least squares, tr Sigma = 1.7736625514403292).

1. log_gradient_noise on gradients taken at w* with B_small = 2 and B_big = 8 (4 micro-batches): the mean of
   the per-step trace_cov over T steps must match tr Sigma within its standard error (steps are independent).
2. GradientNoiseHook under DistributedDataParallel, 2 gloo processes on loopback, per-rank batch 3 (B_big = 6):
   the hook's sq_norm_big equals |p.grad|^2 after backward, and the mean trace_cov matches tr Sigma.
Prints one JSON object. Usage: check_noise.py  (run with /usr/bin/python3; torch 1.13 on CPU).
"""
import json
import math
import os
import socket
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'python'))
from heatcap_torch.noise import GradientNoiseHook, log_gradient_noise, sq_norm  # noqa: E402

torch.set_num_threads(1)
X = torch.tensor([[1, 0], [0, 1], [1, 1], [2, -1], [-1, 2], [1, -2]], dtype=torch.float64)
Y = torch.tensor([1, 2, 2, 0, 3, -1], dtype=torch.float64)
W_STAR = torch.tensor([7 / 9, 13 / 9], dtype=torch.float64)
TRACE = 1.7736625514403292


def exact_trace():
    g = (X @ W_STAR - Y)[:, None] * X  # per-example gradients of 0.5 (x.w - y)^2
    gbar = g.mean(0)
    return float(((g - gbar) ** 2).sum(1).mean())


def model():
    m = nn.Linear(2, 1, bias=False).double()
    with torch.no_grad():
        m.weight.copy_(W_STAR[None])
    return m


def grads(m, idx):
    m.zero_grad()
    out = m(X[idx]).squeeze(1)
    (0.5 * (out - Y[idx]) ** 2).mean().backward()
    return [p.grad.clone() for p in m.parameters()]


def mean_se(xs):
    n = len(xs)
    mu = sum(xs) / n
    var = sum((x - mu) ** 2 for x in xs) / (n - 1)
    return mu, math.sqrt(var / n)


def single(T=3000, micro=4, bs=2):
    gen = torch.Generator().manual_seed(5)
    m = model()
    tr, gs = [], []
    for _ in range(T):
        small, big = 0.0, None
        for _ in range(micro):
            g = grads(m, torch.randint(0, 6, (bs,), generator=gen))
            small += sq_norm(g) / micro
            big = g if big is None else [a + b for a, b in zip(big, g)]
        d = log_gradient_noise(small, sq_norm([b / micro for b in big]), bs, bs * micro)
        tr.append(d['gradient_noise/trace_cov'])
        gs.append(d['gradient_noise/grad_sq_norm'])
    mu, se = mean_se(tr)
    gmu, gse = mean_se(gs)
    return {'trace_cov': mu, 'se': se, 'z': (mu - TRACE) / se, 'grad_sq_norm': gmu, 'grad_z': gmu / gse}


def worker(rank, world, port, out, T):
    torch.set_num_threads(1)
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    ddp = nn.parallel.DistributedDataParallel(model())
    hook = GradientNoiseHook(ddp)
    gen = torch.Generator().manual_seed(100 + rank)
    bs = 3
    tr, worst = [], 0.0
    for _ in range(T):
        ddp.zero_grad()
        idx = torch.randint(0, 6, (bs,), generator=gen)
        (0.5 * (ddp(X[idx]).squeeze(1) - Y[idx]) ** 2).mean().backward()
        s = hook.scalars(bs)
        big = sq_norm([p.grad for p in ddp.parameters()])
        worst = max(worst, abs(s['gradient_noise/sq_norm_big'] - big) / max(big, 1e-300))
        tr.append(s['gradient_noise/trace_cov'])
        assert s['gradient_noise/b_big'] == bs * world
    if rank == 0:
        mu, se = mean_se(tr)
        with open(out, 'w') as f:
            json.dump({'trace_cov': mu, 'se': se, 'z': (mu - TRACE) / se, 'big_rel_err': worst}, f)
    dist.destroy_process_group()


if __name__ == '__main__':
    res = {'exact': exact_trace(), 'single': single()}
    # Two gloo ranks hang now and then on this machine (about 1 run in 5, 2026-12-07: one rank gone, the other
    # spinning); not understood yet. Each attempt gets a deadline, a hung one is killed, and the attempts are
    # reported so the test can say so instead of hiding it.
    res['ddp_hangs'] = 0
    for attempt in range(3):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, 'ddp.json')
            s = socket.socket()
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
            s.close()
            ctx = mp.start_processes(worker, args=(2, port, out, 1500), nprocs=2, join=False, start_method='spawn')
            deadline = time.time() + 150
            while not ctx.join(timeout=1):
                if time.time() > deadline:
                    break
            if os.path.exists(out) and all(not p.is_alive() for p in ctx.processes):
                with open(out) as f:
                    res['ddp'] = json.load(f)
                break
            for p in ctx.processes:
                p.kill()
            res['ddp_hangs'] += 1
            print(f'DDP attempt {attempt + 1} hung past 150 s; killed', file=sys.stderr)
    print(json.dumps(res))
