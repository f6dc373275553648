"""heatcap_torch.noise against a known Sigma (THEORY.md section 4.1 least squares, tr Sigma = 1.7736625514403292).

1. log_gradient_noise on gradients taken at w* with B_small = 2 and B_big = 8 (4 micro-batches): the mean of
   the per-step trace_cov over T steps must match tr Sigma within its standard error (steps are independent).
2. GradientNoiseHook under DistributedDataParallel, 2 gloo processes on loopback, per-rank batch 3 (B_big = 6):
   sq_norm_big equals |p.grad|^2 after backward, sq_norm_small the mean over ranks of |grad|^2 of a plain
   (non-DDP) copy of the model on the rank's batch, and the mean trace_cov matches tr Sigma.
3. Teardown (regression): CYCLES short DDP jobs in the same 2 processes, each torn down (destroy_process_group,
   then the DDP model dropped: the order that deadlocks) right after its last scalars(), with
   find_unused_parameters=True, an unused layer, scalars() on every other step only, and a forward under
   no_grad between the backward and scalars(). With torch 1.13, a Python tensor or callback that a gloo worker
   thread releases after the caller moved on needs the GIL, which the main thread holds while
   ~ProcessGroupGloo joins that thread: the rank hangs for ever. The hook's first versions (a Python comm hook)
   did that in a few of every thousand tear-downs; the hook no longer hands Python objects to the workers.
Each two-rank part has a deadline; a rank still alive at it is reported (with its Python stack from
faulthandler on stderr) and killed, and the part counts as hung: the test fails fast instead of hanging CI.
Prints one JSON object. Usage: check_noise.py  (run with /usr/bin/python3; torch 1.13 on CPU).
"""
import copy
import faulthandler
import json
import math
import os
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


DEADLINE_S = 150  # part 2 takes 10-25 s here, part 3 about as long; a hang is the only way to reach this


def _watchdog(deadline_s):
    # a rank still running shortly before the parent's deadline prints where it is (then gets killed)
    faulthandler.dump_traceback_later(max(deadline_s - 10, 1), exit=False)


_ORACLE_BUF = []  # the oracle's all-reduced scalar, never freed (the reason: noise.py's _KEEP_ALIVE)


def _mean_over_ranks(x, world):
    if not _ORACLE_BUF:
        _ORACLE_BUF.append(torch.zeros(1, dtype=torch.float64))
    buf = _ORACLE_BUF[0]
    buf.fill_(x)
    dist.all_reduce(buf)
    return float(buf) / world


def worker(rank, world, store, out, T):
    _watchdog(DEADLINE_S)
    torch.set_num_threads(1)
    # a FileStore rendezvous: no free port to pick (and lose to another process) before rank 0 binds it
    dist.init_process_group('gloo', init_method=f'file://{store}', rank=rank, world_size=world)
    ddp = nn.parallel.DistributedDataParallel(model())
    hook = GradientNoiseHook(ddp)
    plain = model()  # the same weights outside DDP: the oracle of this rank's gradient before the all-reduce
    gen = torch.Generator().manual_seed(100 + rank)
    bs = 3
    tr, worst, worst_small = [], 0.0, 0.0
    for _ in range(T):
        ddp.zero_grad()
        idx = torch.randint(0, 6, (bs,), generator=gen)
        (0.5 * (ddp(X[idx]).squeeze(1) - Y[idx]) ** 2).mean().backward()
        s = hook.scalars(bs)
        big = sq_norm([p.grad for p in ddp.parameters()])
        worst = max(worst, abs(s['gradient_noise/sq_norm_big'] - big) / max(big, 1e-300))
        small = _mean_over_ranks(sq_norm(grads(plain, idx)), world)
        worst_small = max(worst_small, abs(s['gradient_noise/sq_norm_small'] - small) / max(small, 1e-300))
        tr.append(s['gradient_noise/trace_cov'])
        assert s['gradient_noise/b_big'] == bs * world
    if rank == 0:
        mu, se = mean_se(tr)
        with open(out, 'w') as f:
            json.dump({'trace_cov': mu, 'se': se, 'z': (mu - TRACE) / se, 'big_rel_err': worst,
                       'small_rel_err': worst_small}, f)
    dist.destroy_process_group()


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 4).double()
        self.b = nn.Linear(4, 1).double()
        self.unused = nn.Linear(2, 1).double()  # never in the graph: find_unused_parameters marks it

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


def teardown_worker(rank, world, store_dir, out, cycles):
    _watchdog(DEADLINE_S)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(7 + rank)
    worst, worst_small, calls = 0.0, 0.0, 0
    for c in range(cycles):
        dist.init_process_group('gloo', init_method=f'file://{store_dir}/store{c}', rank=rank, world_size=world)
        torch.manual_seed(c)  # the same initial weights on both ranks
        net = _Net()
        plain = copy.deepcopy(net)
        ddp = nn.parallel.DistributedDataParallel(net, find_unused_parameters=True)
        hook = GradientNoiseHook(ddp)
        for step in range(4):
            ddp.zero_grad()
            idx = torch.randint(0, 6, (3,), generator=gen)
            (0.5 * (ddp(X[idx]).squeeze(1) - Y[idx]) ** 2).mean().backward()
            if step % 2 == 1:  # every other step: the latest backward's gradients, not a sum
                with torch.no_grad():
                    ddp(X)  # an evaluation forward in between must not reset what the backward measured
                plain.zero_grad()  # the oracle first, so that the job still ends right after scalars()
                (0.5 * (plain(X[idx]).squeeze(1) - Y[idx]) ** 2).mean().backward()
                small = _mean_over_ranks(sq_norm([p.grad for p in plain.parameters()]), world)
                big = sq_norm([p.grad for p in ddp.parameters()])
                s = hook.scalars(3)
                worst = max(worst, abs(s['gradient_noise/sq_norm_big'] - big) / max(big, 1e-300))
                worst_small = max(worst_small, abs(s['gradient_noise/sq_norm_small'] - small) / max(small, 1e-300))
                calls += 1
        # torn down at once, as a job ending after its last logged step: this is where ranks hung
        dist.destroy_process_group()
        del ddp, hook
    if rank == 0:
        with open(out, 'w') as f:
            json.dump({'cycles': cycles, 'scalars_calls': calls, 'big_rel_err': worst, 'small_rel_err': worst_small}, f)


def two_ranks(fn, args, out):
    """Runs fn(rank, *args) in 2 spawned processes; (the JSON rank 0 wrote, None) or (None, what hung)."""
    ctx = mp.start_processes(fn, args=args, nprocs=2, join=False, start_method='spawn')
    deadline = time.time() + DEADLINE_S
    while not ctx.join(timeout=1):  # raises, having terminated the other rank, if a rank raised or crashed
        if time.time() > deadline:
            hung = [{'rank': i, 'alive': p.is_alive(), 'exitcode': p.exitcode} for i, p in enumerate(ctx.processes)]
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            for p in ctx.processes:
                p.join(5)
            return None, hung
    with open(out) as f:
        return json.load(f), None


if __name__ == '__main__':
    n = 2 * (1 << 22) + 5  # squared in float64 chunks of 2^22 elements: three chunks, the last one short
    chunked = sq_norm([torch.full((n,), 0.5), torch.full((3,), -2.0)])
    res = {'exact': exact_trace(), 'single': single(), 'chunked_sq_norm': [chunked, n * 0.25 + 12.0]}
    with tempfile.TemporaryDirectory() as d:
        res['ddp'], res['ddp_hung'] = two_ranks(worker, (2, os.path.join(d, 'store'), os.path.join(d, 'ddp.json'), 1500),
                                                os.path.join(d, 'ddp.json'))
        if res['ddp_hung']:
            print(f'DDP run hung past {DEADLINE_S} s: {res["ddp_hung"]}', file=sys.stderr)
        res['teardown'], res['teardown_hung'] = two_ranks(teardown_worker, (2, d, os.path.join(d, 'teardown.json'), 20),
                                                          os.path.join(d, 'teardown.json'))
        if res['teardown_hung']:
            print(f'DDP teardown cycles hung past {DEADLINE_S} s: {res["teardown_hung"]}', file=sys.stderr)
    print(json.dumps(res))
