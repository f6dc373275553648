"""gradstats(curvature=...) against independent float64 oracles; prints the errors as JSON.

Usage: check_curvature.py golden|mlp|cnn|loop|determinism ...   (one process each)
       check_curvature.py dist OUTDIR                           (1 process vs 2 gloo ranks, spawn)

- golden: THEORY.md §4.1's least squares, ℓ_b = ½(x_bᵀw − y_b)²: H = [[4/3, −5/6], [−5/6, 11/6]] exactly,
  A_b = x_b x_bᵀ, g_b = x_b(x_bᵀw − y_b) in closed form.
- mlp, cnn (BatchNorm in eval(), non-trivial running statistics): the dense Hessian of the mean loss
  (torch.autograd.functional.hessian, float64) and its eigen-solve for λ_1..λ_5 and the eigenvectors; explicit
  per-example Hessians and gradients for v_iᵀA_bv_j and v_iᵀg_b on a few examples; the mean over all
  examples of VᵀA_bV against diag(λ).
- loop: the autograd-loop per-example engine against the vmap one (mlp, with a penalty).
- determinism: the same seed gives the same numbers; a subsample is seeded and recorded.
"""
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.utils.stateless import functional_call

from models import make

import heatcap_torch

torch.set_num_threads(1)


def flat_fn(model, names, per_ex_loss, x, y, penalty=None):
    """θ (flat, trainable parameters in named_parameters() order) ↦ mean over (x, y) of the per-example loss."""
    params = dict(model.named_parameters())
    shapes = [params[n].shape for n in names]
    sizes = [params[n].numel() for n in names]

    def unflat(theta):
        return {n: t.view(s) for n, t, s in zip(names, theta.split(sizes), shapes)}

    def f(theta):
        tp = unflat(theta)
        d = {n: p.detach() for n, p in model.named_parameters() if n not in tp}
        d.update(tp)
        d.update(dict(model.named_buffers()))
        l = per_ex_loss(functional_call(model, d, (x,)), y).mean()
        if penalty is not None:
            l = l + penalty(tp)
        return l

    theta0 = torch.cat([params[n].detach().reshape(-1) for n in names])
    return f, theta0


def section(doc):
    c = doc['curvature']
    k, n, P = c['k'], c['n'], c['parameters']
    V = torch.tensor(c['vectors'], dtype=torch.float64).view(k, P)
    G = torch.tensor(c['per_example_grad_proj'], dtype=torch.float64).view(n, k)
    C = torch.tensor(c['per_example_curvature'], dtype=torch.float64).view(n, k, k)
    return c, V, G, C


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def golden(out=None):
    X = torch.tensor([[1, 0], [0, 1], [1, 1], [2, -1], [-1, 2], [1, -2]], dtype=torch.float64)
    y = torch.tensor([1, 2, 2, 0, 3, -1], dtype=torch.float64)
    m = nn.Linear(2, 1, bias=False).double()
    w = torch.tensor([0.3, -0.2], dtype=torch.float64)  # any point: the loss is quadratic
    with torch.no_grad():
        m.weight.copy_(w.view(1, 2))

    def sq_loss(out, t):
        return 0.5 * (out.squeeze(1) - t) ** 2

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=4, shuffle=True)
    doc = heatcap_torch.gradstats(m, sq_loss, loader, progress=False, curvature=True, out=out, loss_name='mse')
    c, V, G, C = section(doc)
    H = torch.tensor([[4 / 3, -5 / 6], [-5 / 6, 11 / 6]], dtype=torch.float64)
    lam, U = torch.linalg.eigh(H)
    lam = lam.flip(0)
    Ab = torch.einsum('bi,bj->bij', X, X)
    gb = X * (X @ w - y).unsqueeze(1)
    return {
        'k': c['k'], 'n': c['n'], 'converged': c['converged'], 'eigenvalues': c['eigenvalues'],
        'eig_err': max(rel(a, float(b)) for a, b in zip(c['eigenvalues'], lam)),
        'closed_form': [(19 / 6 + (25 / 36 * 4 + (1 / 2) ** 2) ** 0.5) / 2, (19 / 6 - (25 / 36 * 4 + (1 / 2) ** 2) ** 0.5) / 2],
        'max_residual': max(c['residuals']),
        'VtV_err': float((V @ V.t() - torch.eye(2, dtype=torch.float64)).abs().max()),
        'VtHV_err': float((V @ H @ V.t() - torch.diag(lam)).abs().max()),
        'curv_err': float((C - torch.einsum('ip,bpq,jq->bij', V, Ab, V)).abs().max()),
        'grad_err': float((G - gb @ V.t()).abs().max()),
        'indices': c['per_example_indices'],
        'method': c['method'], 'hvp': c['hvp'], 'schema_version': doc['schema_version'],
    }


def dense(kind):
    m, x, y = make(kind, n=96)
    loss = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=40)
    m.train()
    doc = heatcap_torch.gradstats(m, loss, loader, progress=False, curvature={'k': 6, 'max_iter': 200})
    assert m.training, 'training mode restored'
    c, V, G, C = section(doc)
    m.eval()
    names = [n for n, p in m.named_parameters() if p.requires_grad]
    pel = nn.CrossEntropyLoss(reduction='none')
    f, theta = flat_fn(m, names, pel, x, y)
    Hd = torch.autograd.functional.hessian(f, theta)
    Hd = 0.5 * (Hd + Hd.t())
    lam, U = torch.linalg.eigh(Hd)
    lam, U = lam.flip(0), U.flip(1)
    got = c['eigenvalues']
    out = {
        'P': c['parameters'], 'k': c['k'], 'n': c['n'], 'converged': c['converged'], 'iterations': c['iterations'],
        'lambda_1_5': got[:5],
        'eig_err_1_5': max(rel(got[i], float(lam[i])) for i in range(5)),
        'gap_5_6': float(lam[4] - lam[5]) / float(lam[0]),
        'max_residual': max(c['residuals']),
        'dense_residual': max(float((Hd @ V[i] - got[i] * V[i]).norm()) / abs(got[0]) for i in range(c['k'])),
        'vec_err_1_5': max(float(1 - abs(V[i] @ U[:, i])) for i in range(5)),
        'VtV_err': float((V @ V.t() - torch.eye(c['k'], dtype=torch.float64)).abs().max()),
        'per_example_method': c['per_example_method'],
    }
    # per-example: explicit Hessians and gradients of single examples
    worst_c = worst_g = 0.0
    for b in (0, 17, 95):
        fb, _ = flat_fn(m, names, pel, x[b:b + 1], y[b:b + 1])
        Ab = torch.autograd.functional.hessian(fb, theta)
        gb = torch.autograd.functional.jacobian(fb, theta)
        scale_c = float(Ab.abs().max()) + 1e-300
        worst_c = max(worst_c, float((C[b] - V @ Ab @ V.t()).abs().max()) / scale_c)
        worst_g = max(worst_g, float((G[b] - V @ gb).abs().max()) / (float(gb.norm()) + 1e-300))
    out['curv_err'] = worst_c
    out['grad_err'] = worst_g
    out['mean_curv_vs_lambda'] = float((C.mean(0) - torch.diag(torch.tensor(got, dtype=torch.float64))).abs().max()) / abs(got[0])
    gbar = torch.autograd.functional.jacobian(f, theta)
    out['mean_grad_proj_err'] = float((G.mean(0) - V @ gbar).abs().max()) / (float(gbar.norm()) + 1e-300)
    out['schema_version'] = doc['schema_version']
    return out


def loop():
    """vmap against the autograd loop where vmap is right (CNN), and auto/vmap where it is not (MLP: LayerNorm)."""
    m, x, y = make('cnn', n=40)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    pen = lambda p: 1e-3 * p['fc.weight'].pow(2).sum()  # noqa: E731
    a = heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, penalty=pen, curvature={'k': 3, 'per_example_method': 'vmap'})
    b = heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, penalty=pen, curvature={'k': 3, 'per_example_method': 'loop'})
    _, Va, Ga, Ca = section(a)
    _, Vb, Gb, Cb = section(b)
    # the penalty's Hessian (2e-3 I on fc.weight) is part of every A_b and of H
    names = [n for n, p in m.named_parameters() if p.requires_grad]
    m.eval()
    f, theta = flat_fn(m, names, nn.CrossEntropyLoss(reduction='none'), x, y, pen)
    Hd = torch.autograd.functional.hessian(f, theta)
    lam = torch.linalg.eigvalsh(0.5 * (Hd + Hd.t())).flip(0)
    fb, _ = flat_fn(m, names, nn.CrossEntropyLoss(reduction='none'), x[5:6], y[5:6], pen)
    Ab = torch.autograd.functional.hessian(fb, theta)
    out = {
        'methods': [a['curvature']['per_example_method'], b['curvature']['per_example_method']],
        'vec_diff': float((Va - Vb).abs().max()),
        'grad_diff': float((Ga - Gb).abs().max()) / float(Ga.abs().max()),
        'curv_diff': float((Ca - Cb).abs().max()) / float(Ca.abs().max()),
        'curv_err_penalty': float((Ca[5] - Va @ Ab @ Va.t()).abs().max()) / float(Ab.abs().max()),
        'eig_err_penalty': max(rel(a['curvature']['eigenvalues'][i], float(lam[i])) for i in range(3)),
    }
    m, x, y = make('mlp', n=20)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    c = heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, curvature={'k': 2})
    out['mlp_auto_method'] = c['curvature']['per_example_method']
    out['mlp_auto_notes'] = [n for n in c['notes'] if 'vmap' in n]
    try:
        heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, curvature={'k': 2, 'per_example_method': 'vmap'})
        out['mlp_vmap_error'] = None
    except heatcap_torch.GradStatsError as e:
        out['mlp_vmap_error'] = str(e)
    return out


def determinism():
    m, x, y = make('cnn', n=60)
    ds = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True)
    opts = {'k': 3, 'seed': 5, 'max_examples': 25}
    a = heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, curvature=opts)['curvature']
    b = heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, curvature=opts)['curvature']
    c = heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, curvature=dict(opts, seed=6))['curvature']
    errors = []
    for bad_loader, bad_opts in ((loader, {'bogus': 1}), (loader, {'k': 0}), ((batch for batch in loader), True)):
        try:
            heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), bad_loader, progress=False, curvature=bad_opts)
            errors.append(None)
        except heatcap_torch.GradStatsError as e:
            errors.append(str(e))
    same = all(a[key] == b[key] for key in ('eigenvalues', 'vectors', 'per_example_grad_proj', 'per_example_curvature', 'per_example_indices'))
    return {
        'same': same, 'n': a['n'], 'subsampled': a['subsampled'], 'indices': a['per_example_indices'],
        'other_seed_indices_differ': c['per_example_indices'] != a['per_example_indices'],
        'other_seed_eig_diff': max(rel(u, v) for u, v in zip(c['eigenvalues'], a['eigenvalues'])),
        'errors': errors,
    }


def loader_for(x, y, world, rank):
    ds = torch.utils.data.TensorDataset(x, y)
    if world > 1:
        s = torch.utils.data.distributed.DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=3)
        return torch.utils.data.DataLoader(ds, batch_size=16, sampler=s)
    return torch.utils.data.DataLoader(ds, batch_size=16)


DIST_OPTS = {'k': 4, 'max_examples': 50, 'seed': 2}


def worker(rank, world, port, outdir):
    torch.set_num_threads(1)
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    m, x, y = make('cnn', n=101)  # odd: DistributedSampler pads one example
    model = nn.parallel.DistributedDataParallel(m)
    heatcap_torch.gradstats(model, nn.CrossEntropyLoss(), loader_for(x, y, world, rank), progress=False,
                            out=os.path.join(outdir, 'two.json'), curvature=DIST_OPTS)
    # drop DDP (its Reducer) before the group: destroyed last by the Reducer, a gloo group joins its worker threads
    # holding the GIL and deadlocks if one still has a Python tensor to free (test/unit/noise/check_noise.py)
    del model
    dist.destroy_process_group()


def distributed(outdir):
    m, x, y = make('cnn', n=101)
    heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader_for(x, y, 1, 0), progress=False,
                            out=os.path.join(outdir, 'one.json'), curvature=DIST_OPTS)
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    # spawn, not fork: this process has run torch's thread pools (d91b413)
    mp.start_processes(worker, args=(2, port, outdir), nprocs=2, join=True, start_method='spawn')
    return {'ok': True}


def npy_files(outdir):
    """The same run twice: arrays inline, and (a small inline limit) as .npy files beside the JSON."""
    m, x, y = make('cnn', n=30)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    opts = {'k': 3}
    heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, out=os.path.join(outdir, 'inline.json'), curvature=opts)
    import heatcap_torch.core as core

    keep = core.INLINE_VECTOR_MAX
    core.INLINE_VECTOR_MAX = 50
    try:
        heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, out=os.path.join(outdir, 'npy.json'), curvature=opts)
        d = heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, progress=False, curvature=opts)  # no out: vectors omitted
    finally:
        core.INLINE_VECTOR_MAX = keep
    return {'files': sorted(os.listdir(outdir)), 'no_out_has_vectors': 'vectors' in d['curvature'], 'no_out_notes': [n for n in d['notes'] if 'omitted' in n]}


if __name__ == '__main__':
    if sys.argv[1] == 'dist':
        print(json.dumps(distributed(sys.argv[2])))
        sys.exit(0)
    if sys.argv[1] == 'golden_file':
        print(json.dumps(golden(sys.argv[2])))
        sys.exit(0)
    if sys.argv[1] == 'npy':
        print(json.dumps(npy_files(sys.argv[2])))
        sys.exit(0)
    fns = {'golden': golden, 'mlp': lambda: dense('mlp'), 'cnn': lambda: dense('cnn'), 'loop': loop, 'determinism': determinism}
    print(json.dumps({a: fns[a]() for a in sys.argv[1:]}))
