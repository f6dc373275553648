"""gradstats (vmap and hooks) vs a naive per-example autograd loop in float64; prints the worst relative errors as JSON."""
import json
import sys

import torch
import torch.nn as nn

from models import make

import heatcap_torch

torch.set_num_threads(1)


def naive(m, x, y, loss_fn, penalty=None):
    m.eval()
    names = [n for n, p in m.named_parameters() if p.requires_grad]
    params = dict(m.named_parameters())
    sq, losses, gs = [], [], []
    for b in range(len(y)):
        l = loss_fn(m(x[b:b + 1]), y[b:b + 1]).sum()
        if penalty is not None:
            l = l + penalty({n: params[n] for n in names})
        g = torch.autograd.grad(l, [params[n] for n in names])
        gs.append(torch.cat([t.reshape(-1) for t in g]))
        losses.append(float(l))
    G = torch.stack(gs)
    N = len(y)
    sizes = [params[n].numel() for n in names]
    per_w = [float(c.pow(2).sum()) / N for c in G.split(sizes, dim=1)]
    gbar = G.mean(0)
    sqn = G.pow(2).sum(1)
    return {
        'n': N, 'mean_loss': sum(losses) / N, 'mean_sq_norm': float(sqn.mean()), 'mean_grad_sq_norm': float(gbar.pow(2).sum()),
        'trace_cov': float(sqn.mean() - gbar.pow(2).sum()), 'per_weight': per_w, 'diag': G.pow(2).mean(0), 'sq': sqn,
        'top': sorted(range(N), key=lambda b: (-float(sqn[b]), b))[:5],
    }


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


out = {}
for kind in sys.argv[1:]:
    m, x, y = make(kind)
    loss = nn.CrossEntropyLoss()  # reduction='mean': converted to 'none'
    pen = (lambda p: 1e-3 * p['fc2.weight'].pow(2).sum()) if kind == 'mlp' else None
    want = naive(m, x, y, nn.CrossEntropyLoss(reduction='none'), pen)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=37, shuffle=True)
    for method in (('vmap', 'auto') if kind == 'tied' else ('vmap', 'hooks', 'auto')):
        m.train()  # gradstats must switch to eval() and restore
        got = heatcap_torch.gradstats(m, loss, loader, diagonal=True, top_k=5, method=method, progress=False, penalty=pen)
        assert m.training, 'training mode restored'
        errs = {k: rel(got[k], want[k]) for k in ('mean_loss', 'mean_sq_norm', 'trace_cov')}
        errs['mean_grad_sq_norm'] = abs(got['mean_grad_sq_norm'] - want['mean_grad_sq_norm']) / want['mean_sq_norm']
        errs['per_weight'] = max(rel(w['mean_sq_norm'], v) for w, v in zip(got['per_weight'], want['per_weight']))
        d = torch.tensor(got['diag_second_moment'], dtype=torch.float64)
        errs['diag'] = float((d - want['diag']).abs().max() / want['diag'].abs().max())
        errs['top_same'] = [t['index'] for t in got['top']] == want['top']
        errs['n_same'] = got['n'] == want['n']
        errs['method'] = got['method']
        errs['notes'] = got['notes']
        out[f'{kind}/{method}'] = errs
print(json.dumps(out))
