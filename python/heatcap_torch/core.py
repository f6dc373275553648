"""Per-example gradient statistics at fixed parameters, streamed over a data loader.

See README.md for the definitions (THEORY.md notation: g_b is the gradient of ONE example's loss, no 1/B
factor; population normalisation 1/N) and for the gradstats.json format
(src/core/result/gradstats.schema.json in the heatcap repository, schema_version 2: version 1 plus the
optional `curvature` section, see curvature.py).
"""
import copy
import datetime
import hashlib
import json
import math
import os
import platform
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import curvature as _curv
from .version import __version__

SCHEMA_VERSION = 2
# Fixed log10 bins shared with the TypeScript engine (src/core/gradnorm/stats.ts): width 0.05 over [-40, 40].
HIST_MIN = -40.0
HIST_MAX = 40.0
HIST_WIDTH = 0.05
HIST_BINS = 1600
# Above this many parameters the per-parameter vectors (diag_second_moment, mean_grad) go to .npy files
# beside the JSON instead of inline (1e6 float64 numbers are ~25 MB of JSON).
INLINE_VECTOR_MAX = 1_000_000
FINGERPRINT_METHOD = (
    'sha256 of: the decimal N and a newline, then for the example with the smallest index and the one with '
    'the largest index: the decimal index, the input dtype and shape as text and a newline, and the raw bytes '
    'of that example\'s input tensor as the loader yields it (before moving to the device)'
)
HASH_METHOD = (
    'sha256 over named_parameters() in order (all parameters, frozen included): name, NUL, dtype, shape as '
    'text, NUL, then the raw little-endian bytes of the tensor'
)


class GradStatsError(Exception):
    """A problem with the model, the loss or the loader that the statistics cannot be computed through."""


class _HooksMismatch(GradStatsError):
    pass


# --------------------------------------------------------------------------------------------- helpers
def _vmap_api():
    """(label, vmap, grad, functional_call) from torch.func (torch >= 2.0) or functorch (1.13), or None."""
    try:
        from torch.func import functional_call, grad, vmap  # type: ignore

        return 'torch.func.vmap', vmap, grad, functional_call
    except ImportError:
        pass
    try:
        from functorch import grad, vmap  # type: ignore
        from torch.nn.utils.stateless import functional_call  # type: ignore

        return 'functorch.vmap', vmap, grad, functional_call
    except ImportError:
        return None


def _tensor_bytes(t):
    t = t.detach().cpu().contiguous().reshape(-1)
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    try:
        return t.numpy().tobytes()
    except Exception:  # numpy missing: slow but dependency-free
        u8 = t.view(torch.uint8) if t.element_size() > 1 or t.dtype != torch.uint8 else t
        return bytes(u8.tolist())


def _unwrap(model):
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    while isinstance(model, (DataParallel, DistributedDataParallel)):
        model = model.module
    return model


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist, dist.get_rank(), dist.get_world_size(), str(dist.get_backend())
    return None, 0, 1, None


def _all_reduce(dist, backend, t):
    """Sum of t over the ranks (gloo reduces CPU tensors, nccl CUDA ones: moved as needed)."""
    if dist is None or t is None:
        return t
    if backend == 'gloo' and t.device.type != 'cpu':
        c = t.cpu()
        dist.all_reduce(c)
        return c.to(t.device)
    if backend == 'nccl' and t.device.type == 'cpu':
        c = t.cuda()
        dist.all_reduce(c)
        return c.cpu()
    dist.all_reduce(t)
    return t


def _split_batch(batch):
    if isinstance(batch, dict):
        x = next((batch[k] for k in ('input', 'inputs', 'x') if k in batch), None)
        y = next((batch[k] for k in ('target', 'targets', 'labels', 'label', 'y') if k in batch), None)
        if x is None or y is None:
            raise GradStatsError(f'a dict batch needs an input key (input/inputs/x) and a target key (target/targets/labels/label/y); got {sorted(batch)}')
        return x, y
    if isinstance(batch, (list, tuple)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise GradStatsError(f'each batch must be (input, target) or a dict with input and target; got {type(batch).__name__}')


def _per_example_loss(loss_fn, notes):
    """A callable (output, target) -> losses of shape (B,), and the loss's name."""
    fn = loss_fn
    reduce = None
    red = getattr(loss_fn, 'reduction', None)
    if isinstance(loss_fn, nn.Module) and isinstance(red, str) and red != 'none':
        fn = copy.copy(loss_fn)
        fn.reduction = 'none'
        reduce = red
        notes.append(
            f"{type(loss_fn).__name__}(reduction='{red}') evaluated as reduction='none': one loss per example, "
            f"no 1/B factor; a per-example loss with more than the batch dimension is {'averaged' if red == 'mean' else 'summed'} over the others"
        )
        if getattr(loss_fn, 'weight', None) is not None and red == 'mean':
            notes.append('class weights with reduction=mean: the training loss divides by the batch\'s summed weights, the per-example loss here does not')

    def per_example(out, y):
        l = fn(out, y)
        if l.dim() == 0:
            raise GradStatsError("loss_fn returned a scalar: it must return one loss per example (reduction='none' semantics), or be a torch loss module whose reduction can be set to 'none'")
        if l.dim() > 1:
            if reduce is None:
                raise GradStatsError(f'loss_fn returned shape {tuple(l.shape)}: it must return one loss per example, shape (B,)')
            l = l.flatten(1)
            l = l.mean(1) if reduce == 'mean' else l.sum(1)
        return l

    return per_example


# ------------------------------------------------------------------------------------ data iteration
def _batches(loader, rank, world, notes, ordered=False):
    """Yields (x, y, indices) for this rank's shard; indices are dataset indices where known. ordered: a
    shuffling sampler's examples in index order (the same batches on every pass)."""
    from torch.utils.data import DataLoader, DistributedSampler, IterableDataset

    if isinstance(loader, DataLoader) and not isinstance(loader.dataset, IterableDataset):
        ds = loader.dataset
        sampler = loader.sampler
        if loader.batch_size is not None:
            idx = list(iter(sampler))
            bs = loader.batch_size
        else:  # a custom batch_sampler
            chunks = [list(b) for b in loader.batch_sampler]
            idx = [i for b in chunks for i in b]
            bs = max((len(b) for b in chunks), default=1)
        total = len(idx)
        if ordered and not isinstance(sampler, DistributedSampler):
            idx = sorted(idx)
        if isinstance(sampler, DistributedSampler):
            if sampler.num_replicas != world or sampler.rank != rank:
                raise GradStatsError(f'DistributedSampler(num_replicas={sampler.num_replicas}, rank={sampler.rank}) does not match torch.distributed (world size {world}, rank {rank})')
            n_ds = len(ds)
            # DistributedSampler pads by repeating the first indices so every rank has as many: drop the
            # padding (global position rank + world*i beyond the dataset), so each example counts once.
            idx = [j for i, j in enumerate(idx) if rank + world * i < n_ds]
            total = min(n_ds, sampler.total_size)
            if sampler.drop_last and rank == 0:
                notes.append('DistributedSampler(drop_last=True) leaves out the tail of the dataset')
        elif world > 1:
            # Shard the (sorted) examples the loader would visit by rank, as DistributedSampler(shuffle=False) does.
            idx = sorted(idx)[rank::world]
            if rank == 0:
                notes.append(f'loader sharded by rank (rank r takes examples r, r + {world}, r + {2 * world}, … in index order), as DistributedSampler(shuffle=False) would')
        if loader.batch_size is not None and loader.drop_last and rank == 0:
            notes.append('drop_last ignored: every example is evaluated')
        chunks = [idx[i:i + bs] for i in range(0, len(idx), bs)]
        kw = dict(batch_sampler=chunks, num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory, worker_init_fn=loader.worker_init_fn)
        if loader.num_workers > 0 and getattr(loader, 'prefetch_factor', None) is not None:
            kw['prefetch_factor'] = loader.prefetch_factor
        it = DataLoader(ds, **kw)
        for chunk, batch in zip(chunks, it):
            x, y = _split_batch(batch)
            yield x, y, chunk, total
        return
    # Any other iterable: running example counter as the index; with several ranks every rank reads every
    # batch and keeps batch i when i % world == rank.
    if world > 1 and rank == 0:
        notes.append('loader is not a map-style DataLoader: every rank reads every batch and keeps its share (batch i on rank i % world)')
    start = 0
    for i, batch in enumerate(loader):
        x, y = _split_batch(batch)
        B = int(x.shape[0])
        if i % world == rank:
            yield x, y, list(range(start, start + B)), None
        start += B


# ------------------------------------------------------------------------------ per-example engines
class _VmapEngine:
    def __init__(self, api, model, names, per_ex_loss, penalty):
        label, vmap, grad, functional_call = api
        self.method = label
        self.model = model
        self.names = names
        trainable = set(names)
        self.fixed = {n: p.detach() for n, p in model.named_parameters() if n not in trainable}
        self.fixed.update({n: b for n, b in model.named_buffers()})

        def f(tp, x, y):
            d = dict(self.fixed)
            d.update(tp)
            out = functional_call(model, d, (x.unsqueeze(0),))
            l = per_ex_loss(out, y.unsqueeze(0)).sum()
            if penalty is not None:
                l = l + penalty(tp)
            return l, l

        self.fn = vmap(grad(f, has_aux=True), in_dims=(None, 0, 0))

    def __call__(self, x, y, diagonal):
        params = dict(self.model.named_parameters())
        tp = {n: params[n].detach() for n in self.names}
        grads, losses = self.fn(tp, x, y)
        contrib = {}
        for n in self.names:
            contrib[n] = _reduce_full(grads.pop(n), diagonal)
        return contrib, losses.detach()


_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class _HookEngine:
    """Per-layer per-example gradients from each layer's input and output gradient (one forward, one backward)."""

    SUPPORTED = (nn.Linear, nn.Conv2d, nn.Embedding, nn.LayerNorm) + _NORMS
    method = 'hooks'

    def __init__(self, model, names, per_ex_loss, penalty):
        self.model = model
        self.names = names
        self.per_ex_loss = per_ex_loss
        self.penalty = penalty
        self.owner = {}  # param name -> (module, attribute)
        mods = []
        for mname, m in model.named_modules():
            own = [(pn, p) for pn, p in m.named_parameters(recurse=False) if p.requires_grad]
            if not own:
                continue
            if not isinstance(m, self.SUPPORTED):
                raise GradStatsError(f"per-layer hooks do not cover {type(m).__name__} ('{mname}'); supported: Linear, Conv2d, Embedding, LayerNorm, BatchNorm1d/2d/3d; use method='vmap' (torch >= 2.0, or functorch)")
            self._check(mname, m)
            for pn, _ in own:
                self.owner[f'{mname}.{pn}' if mname else pn] = (m, pn)
            mods.append(m)
        missing = [n for n in names if n not in self.owner]
        if missing:
            raise GradStatsError(f'per-layer hooks: parameters not owned by a module: {missing}')
        self.calls = {}
        self.verified = False
        self.handles = [m.register_forward_hook(self._hook) for m in mods]

    @staticmethod
    def _check(mname, m):
        if isinstance(m, nn.Conv2d):
            if m.groups != 1 or m.padding_mode != 'zeros':
                raise GradStatsError(f"per-layer hooks: Conv2d '{mname}' with groups={m.groups}, padding_mode={m.padding_mode}: use method='vmap'")
            if isinstance(m.padding, str) and m.padding == 'same' and any(d * (k - 1) % 2 for d, k in zip(m.dilation, m.kernel_size)):
                raise GradStatsError(f"per-layer hooks: Conv2d '{mname}' with asymmetric padding='same': use method='vmap'")
        if isinstance(m, nn.Embedding) and m.scale_grad_by_freq:
            raise GradStatsError(f"per-layer hooks: Embedding '{mname}' with scale_grad_by_freq: use method='vmap'")
        if isinstance(m, _NORMS) and (m.running_mean is None or m.running_var is None):
            raise GradStatsError(f"BatchNorm '{mname}' has no running statistics: in eval() it normalises by the batch, so examples are not independent")

    def _hook(self, m, inputs, output):
        self.calls.setdefault(m, []).append((inputs[0].detach(), output))

    def close(self):
        for h in self.handles:
            h.remove()

    def _per_example(self, m, a, d):
        B = a.shape[0]
        out = {}
        if isinstance(m, nn.Linear):
            a2 = a.reshape(B, -1, a.shape[-1])
            d2 = d.reshape(B, -1, d.shape[-1])
            out['weight'] = torch.bmm(d2.transpose(1, 2), a2)
            if m.bias is not None:
                out['bias'] = d2.sum(1)
        elif isinstance(m, nn.Conv2d):
            pad = m.padding
            if isinstance(pad, str):
                pad = (0, 0) if pad == 'valid' else tuple(dd * (k - 1) // 2 for dd, k in zip(m.dilation, m.kernel_size))
            u = F.unfold(a, m.kernel_size, dilation=m.dilation, padding=pad, stride=m.stride)
            d2 = d.reshape(B, d.shape[1], -1)
            out['weight'] = torch.bmm(d2, u.transpose(1, 2)).reshape(B, *m.weight.shape)
            if m.bias is not None:
                out['bias'] = d2.sum(2)
        elif isinstance(m, nn.Embedding):
            idx = a.reshape(B, -1)
            d2 = d.reshape(B, -1, d.shape[-1])
            gw = torch.zeros(B, m.num_embeddings, m.embedding_dim, dtype=d.dtype, device=d.device)
            gw.scatter_add_(1, idx.unsqueeze(-1).expand(-1, -1, d2.shape[-1]), d2)
            if m.padding_idx is not None:
                gw[:, m.padding_idx] = 0
            out['weight'] = gw
        elif isinstance(m, nn.LayerNorm):
            ns = tuple(m.normalized_shape)
            xh = F.layer_norm(a, ns, None, None, m.eps)
            out['weight'] = (d * xh).reshape(B, -1, *ns).sum(1) if m.weight is not None else None
            if m.bias is not None:
                out['bias'] = d.reshape(B, -1, *ns).sum(1)
        else:  # BatchNorm in eval(): running statistics
            shape = [1, -1] + [1] * (a.dim() - 2)
            xh = (a - m.running_mean.view(shape)) / torch.sqrt(m.running_var.view(shape) + m.eps)
            dims = [0] + list(range(2, a.dim()))
            red = [i for i in range(2, a.dim())]
            out['weight'] = (d * xh).sum(red) if red else d * xh
            if m.bias is not None:
                out['bias'] = d.sum(red) if red else d
            del dims
        return out

    def _linear_fast(self, m, a, d, r_w, r_b, diagonal):
        """Linear without materialising B x out x in: ||g_b,W||^2 = sum_ts (a_t.a_s)(d_t.d_s) (= |a|^2 |d|^2
        for one position), sum_b g_b = D^T A, sum_b g_b^2 = (D^2)^T (A^2) (one position; else materialised)."""
        B = a.shape[0]
        A = a.reshape(B, -1, a.shape[-1])
        D = d.reshape(B, -1, d.shape[-1])
        T = A.shape[1]
        res = {}
        if T == 1:
            A1, D1 = A[:, 0], D[:, 0]
            sq = (A1 * A1).sum(1) * (D1 * D1).sum(1)
            g2 = (D1 * D1).t() @ (A1 * A1) if diagonal else None
        else:
            sq = (torch.bmm(A, A.transpose(1, 2)) * torch.bmm(D, D.transpose(1, 2))).sum((1, 2))
            g2 = None
            if diagonal:
                G = torch.bmm(D.transpose(1, 2), A)
                g2 = (G * G).sum(0)
        gs = D.reshape(-1, D.shape[-1]).t() @ A.reshape(-1, A.shape[-1])
        if r_w is not None:  # g_b = h_b + r
            rh = (torch.bmm(D, r_w.unsqueeze(0).expand(B, -1, -1)) * A).sum((1, 2))
            sq = sq + 2 * rh + (r_w * r_w).sum()
            if g2 is not None:
                g2 = g2 + 2 * r_w * gs + B * r_w * r_w
            gs = gs + B * r_w
        res['weight'] = (sq, gs, g2)
        if m.bias is not None:
            hb = D.sum(1)
            if r_b is not None:
                hb = hb + r_b
            res['bias'] = (hb * hb).sum(1), hb.sum(0), (hb * hb).sum(0) if diagonal else None
        return res

    def __call__(self, x, y, diagonal):
        self.calls = {}
        verify = not self.verified
        params = dict(self.model.named_parameters())
        with torch.enable_grad():
            out = self.model(x)
            losses = self.per_ex_loss(out, y)
            pairs = [(m, a, o) for m, lst in self.calls.items() for a, o in lst]
            outs = [o for _, _, o in pairs]
            extra = [params[n] for n in self.names] if verify else []
            got = torch.autograd.grad(losses.sum(), outs + extra, allow_unused=True)
            deltas = got[:len(outs)]
            batch_grad = dict(zip(self.names, got[len(outs):]))
        counts = {}
        for m, _, _ in pairs:
            counts[m] = counts.get(m, 0) + 1
        self.calls = {}
        B = losses.shape[0]
        losses = losses.detach()
        r = {}
        if self.penalty is not None:
            with torch.enable_grad():
                tp = {n: params[n] for n in self.names}
                pv = self.penalty(tp)
                rs = torch.autograd.grad(pv, [tp[n] for n in self.names], allow_unused=True)
            r = {n: g.detach() for n, g in zip(self.names, rs) if g is not None}
            losses = losses + pv.detach()
        name_of = {(m, pn): n for n, (m, pn) in self.owner.items()}
        contrib = {}
        per_mod = {}
        for (m, a, o), d in zip(pairs, deltas):
            if d is None:
                d = torch.zeros_like(o)
            if isinstance(m, nn.Linear) and counts[m] == 1:
                wn, bn = name_of.get((m, 'weight')), name_of.get((m, 'bias'))
                res = self._linear_fast(m, a, d, r.get(wn), r.get(bn), diagonal)
                for k, v in res.items():
                    n = name_of.get((m, k))
                    if n is not None:
                        contrib[n] = v
                continue
            for k, g in self._per_example(m, a, d).items():
                if g is not None:
                    per_mod.setdefault((m, k), []).append(g)
        for n in self.names:
            if n in contrib:
                continue
            m, pn = self.owner[n]
            gl = per_mod.get((m, pn))
            p = getattr(m, pn)
            g = sum(gl) if gl else torch.zeros((B,) + tuple(p.shape), dtype=p.dtype, device=p.device)
            if n in r:
                g = g + r[n].unsqueeze(0)
            contrib[n] = _reduce_full(g, diagonal)
        if verify:
            # The per-layer forms see only what passes through the hooked modules: a parameter also used
            # outside its module's forward (tied weights, module.weight read directly) would be missed.
            # Check once: the batch sum of the per-example gradients = autograd's gradient of the sum.
            for n in self.names:
                want = batch_grad[n]
                want = torch.zeros_like(params[n]) if want is None else want.detach()
                if n in r:
                    want = want + B * r[n]
                have = contrib[n][1].reshape(want.shape)
                err = float((have - want).norm())
                scale = float(want.norm()) + float(contrib[n][0].sum().sqrt()) * 1e-3
                if not err <= 1e-3 * scale + 1e-30:
                    raise _HooksMismatch(f"per-layer hooks disagree with autograd on '{n}' (a parameter used outside its module's forward?)")
            self.verified = True
        return contrib, losses


def _reduce_full(g, diagonal):
    """(per-example squared norms, sum over the batch, sum of squares over the batch) of per-example gradients g (B, ...)."""
    g = g.reshape(g.shape[0], -1)
    g2 = g * g
    return g2.sum(1), g.sum(0), g2.sum(0) if diagonal else None


# ---------------------------------------------------------------------------------------- the sums
class _Sums:
    def __init__(self, sizes, diagonal, device):
        P = sum(sizes)
        f64 = dict(dtype=torch.float64, device=device)
        self.sizes = sizes
        # scalars: n, loss_sum, sq_sum, sqsq_sum, zeros; then per-weight sums; then histogram bins
        self.head = torch.zeros(5 + len(sizes) + HIST_BINS, **f64)
        self.grad_sum = torch.zeros(P, **f64)
        self.diag_sum = torch.zeros(P, **f64) if diagonal else None

    def add(self, contrib, names, losses):
        """contrib[name] = (per-example squared norms (B,), batch sum of g_b, batch sum of g_b^2 or None),
        in the model's dtype; accumulated in float64."""
        B = losses.shape[0]
        sq = torch.zeros(B, dtype=torch.float64, device=self.head.device)
        off = 0
        W = len(names)
        for w, (n, size) in enumerate(zip(names, self.sizes)):
            s, gs, g2 = contrib[n]
            s = s.to(torch.float64)
            sq += s
            self.head[5 + w] += s.sum()
            self.grad_sum[off:off + size] += gs.reshape(-1).to(torch.float64)
            if self.diag_sum is not None:
                self.diag_sum[off:off + size] += g2.reshape(-1).to(torch.float64)
            off += size
        h = self.head
        h[0] += B
        h[1] += losses.to(torch.float64).sum()
        h[2] += sq.sum()
        h[3] += (sq * sq).sum()
        pos = sq > 0
        h[4] += (~pos).sum()
        if bool(pos.any()):
            b = torch.floor((torch.log10(sq[pos]) - HIST_MIN) / HIST_WIDTH).clamp(0, HIST_BINS - 1).long()
            h[5 + W:] += torch.bincount(b, minlength=HIST_BINS).to(torch.float64)
        return sq


def _better(a, b):
    return a[1] > b[1] or (a[1] == b[1] and a[0] < b[0])


def _merge_top(top, entries, k):
    if k <= 0:
        return []
    allv = list(top) + list(entries)
    allv.sort(key=lambda e: (-e[1], e[0]))
    return allv[:k]


def _condense(hist, zeros):
    occ = [i for i, c in enumerate(hist) if c > 0]
    if not occ:
        return {'log10_edges': [], 'counts': [], 'zeros': int(zeros)}
    group = 5
    lo = (occ[0] // group) * group
    hi = occ[-1]
    edges, counts = [], []
    b = lo
    while b <= hi:
        edges.append(round(HIST_MIN + b * HIST_WIDTH, 4))
        counts.append(int(sum(hist[b:min(b + group, HIST_BINS)])))
        b += group
    edges.append(round(HIST_MIN + (lo + len(counts) * group) * HIST_WIDTH, 4))
    return {'log10_edges': edges, 'counts': counts, 'zeros': int(zeros)}


def _model_hash(model):
    h = hashlib.sha256()
    for n, p in model.named_parameters():
        h.update(n.encode())
        h.update(b'\0')
        h.update(f'{str(p.dtype).replace("torch.", "")} {list(p.shape)}'.encode())
        h.update(b'\0')
        h.update(_tensor_bytes(p))
    return h.hexdigest()


def _example_bytes(x, b, index):
    xb = x[b]
    head = f'{index} {str(xb.dtype).replace("torch.", "")} {list(xb.shape)}\n'.encode()
    return head + _tensor_bytes(xb)


def write_npy(path, values, shape=None):
    """Writes a float64 .npy (format 1.0, C order; 1-D unless `shape` is given) without needing numpy."""
    values = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
    shape = tuple(int(d) for d in shape) if shape is not None else (values.numel(),)
    if math.prod(shape) != values.numel():
        raise ValueError(f'write_npy: shape {shape} does not hold {values.numel()} values')
    dims = '(%d,)' % shape[0] if len(shape) == 1 else '(' + ', '.join(str(d) for d in shape) + ')'
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }" % dims
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + ' ' * pad + '\n'
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode('latin1'))
            f.write(_tensor_bytes(values) if sys.byteorder == 'little' else b''.join(struct.pack('<d', v) for v in values.tolist()))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_gradstats(doc, path):
    """Writes gradstats.json atomically (a temporary file renamed into place: never a partial file)."""
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'w') as f:
            json.dump(doc, f, indent=1, allow_nan=False)
            f.write('\n')
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _curvature_section(inner, names, sizes, per_ex_loss, penalty, loader, dist, rank, world, backend, dev, chunk_size,
                       opts, N, own_idx, notes, progress, loop_seconds, out):
    """gradstats.json's `curvature` section (curvature.py); large arrays to .npy files beside `out`."""
    if dist is not None:
        gathered = [None] * world
        dist.all_gather_object(gathered, own_idx)
        all_idx = [i for g in gathered for i in g]
    else:
        all_idx = own_idx

    def batches():
        for x, y, indices, _ in _batches(loader, rank, world, [], ordered=True):
            yield x, y, indices

    def say(msg):
        sys.stderr.write(f'heatcap_torch: {msg}\n')
        sys.stderr.flush()

    ctx = _curv._Ctx(inner, names, sizes, per_ex_loss, penalty, loader, batches, lambda t: _all_reduce(dist, backend, t),
                     dist, rank, world, dev, chunk_size)
    try:
        sec, arrays = _curv.compute(ctx, opts, n_total=N, indices_all=all_idx, notes=notes,
                                    progress=say if progress and rank == 0 else None, gradient_pass_seconds=loop_seconds)
    except _curv.CurvatureError as e:
        raise GradStatsError(str(e)) from None
    base = os.path.splitext(out)[0] if out is not None else None
    for key, arr in (('vectors', arrays['vectors']), ('per_example_grad_proj', arrays['per_example_grad_proj']),
                     ('per_example_curvature', arrays['per_example_curvature'])):
        big = arr.numel() > INLINE_VECTOR_MAX
        if not big or (out is None and key != 'vectors'):
            sec[key] = arr.reshape(-1).tolist()
        elif out is not None:
            sec[key + '_npy'] = os.path.basename(f'{base}.curvature_{key}.npy')
            if rank == 0:
                write_npy(f'{base}.curvature_{key}.npy', arr, tuple(arr.shape))
            notes.append(f'curvature: {key} ({"×".join(str(d) for d in arr.shape)}) written to {sec[key + "_npy"]} beside the JSON')
        else:
            notes.append(f'curvature: vectors omitted ({arr.shape[0]} × {arr.shape[1]} numbers; pass out= to get them as a .npy file)')
    return sec


class _Progress:
    def __init__(self, enabled, total):
        self.enabled = enabled
        self.total = total
        self.t0 = time.time()
        self.last = 0.0

    def update(self, done, final=False):
        if not self.enabled:
            return
        now = time.time()
        if not final and now - self.last < 2.0:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        tot = f'/{self.total}' if self.total else ''
        sys.stderr.write(f'heatcap_torch: {done}{tot} examples, {rate:.1f}/s{" (done)" if final else ""}\n')
        sys.stderr.flush()


# ---------------------------------------------------------------------------------------- the API
def gradstats(model, loss_fn, loader, *, device=None, diagonal=False, top_k=20, per_example_path=None,
              method='auto', progress=True, penalty=None, loss_name=None, out=None, chunk_size=None,
              curvature=None):
    """Per-example gradient statistics of `model` at its current parameters over every example of `loader`.

    model     nn.Module (DDP/DataParallel wrappers are unwrapped); put in eval() for the computation
              (Dropout off, BatchNorm on running statistics) and restored afterwards. Moved to `device`
              when one is given. Gradients are taken w.r.t. the parameters with requires_grad.
    loss_fn   loss_fn(output, target) -> one loss per example (reduction='none' semantics). A torch loss
              module with reduction='mean'/'sum' is copied with reduction='none' (recorded in notes).
    loader    a DataLoader (or any iterable) of (input, target) batches, or dicts with input/target keys.
              Under torch.distributed each rank evaluates its shard: the loader's DistributedSampler, else
              every world_size-th example; sums are all-reduced so every rank returns the same result.
    diagonal  also E_b[g_b,i^2] per parameter (Adam/RMSprop prediction) and mean_grad.
    top_k     the k examples with the largest ||g_b||^2 (dataset index, squared norm).
    per_example_path  write every ||g_b||^2 (float64 .npy, position = dataset index; NaN where no example).
    method    'auto' (vmap where torch.func/functorch exists, else hooks), 'vmap', or 'hooks'.
    penalty   optional penalty(params: dict name -> tensor) -> scalar added to every example's loss (a
              regulariser the optimiser steps on, e.g. L2 written into the loss).
    out       also write the result to this gradstats.json (rank 0 only; atomic).
    chunk_size  evaluate batches in pieces of at most this many examples (vmap holds chunk x P gradients;
              default for vmap: 2^24 / P examples, i.e. ~64 MB of float32; hooks: the whole batch).
    curvature  opt-in: True (k = 10), an int k, or a dict of options (k, max_iter, tol, seed, max_examples,
              per_example_method, basis_device; see curvature.DEFAULTS): the top-k Hessian eigenpairs of the
              full-dataset loss by Lanczos on autograd Hessian-vector products (one pass over the loader
              each), their residuals, and per example v_i.g_b and v_i.A_b v_j, in the `curvature` section.
              The loader is iterated again for that (it must yield the same examples every time).

    Returns the gradstats.json document (a dict; schema_version 2).
    """
    t0 = time.time()
    dist, rank, world, backend = _dist()
    notes = []
    inner = _unwrap(model)
    if device is not None:
        inner.to(device)
    params = list(inner.named_parameters())
    if not params:
        raise GradStatsError('the model has no parameters')
    dev = torch.device(device) if device is not None else params[0][1].device
    names = [n for n, p in params if p.requires_grad]
    if not names:
        raise GradStatsError('no parameter requires grad')
    pmap = dict(params)
    sizes = [pmap[n].numel() for n in names]
    P = sum(sizes)
    dtypes = sorted({str(pmap[n].dtype).replace('torch.', '') for n in names})
    per_ex_loss = _per_example_loss(loss_fn, notes)
    try:
        curv_opts = _curv.parse_options(curvature)
    except _curv.CurvatureError as e:
        raise GradStatsError(str(e)) from None
    if curv_opts is not None:
        from torch.utils.data import DataLoader

        if not isinstance(loader, DataLoader) and iter(loader) is loader:
            raise GradStatsError('curvature needs a loader that can be iterated several times (a DataLoader or a list of batches, not a generator)')
    own_idx = [] if curv_opts is not None else None

    api = _vmap_api()
    if method not in ('auto', 'vmap', 'hooks'):
        raise GradStatsError(f"method must be 'auto', 'vmap' or 'hooks', got {method!r}")
    if method == 'vmap' and api is None:
        raise GradStatsError("method='vmap' needs torch.func (torch >= 2.0) or functorch")

    modes = {m: m.training for m in inner.modules()}
    inner.eval()
    engine = None
    sums = _Sums(sizes, diagonal, dev)
    top = []
    per_ex = [] if per_example_path else None
    first = last = None  # (index, bytes) of the smallest / largest index seen on this rank
    prog = _Progress(progress and rank == 0, None)
    done = 0
    try:
        if method == 'hooks':
            engine = _HookEngine(inner, names, per_ex_loss, penalty)
        elif method == 'vmap':
            engine = _VmapEngine(api, inner, names, per_ex_loss, penalty)
        else:
            # auto: the per-layer forms when they cover every trainable layer (exact, and measured several
            # times faster than vmap on CPU: no B x P gradient tensor for Linear layers), checked against
            # autograd on the first batch; else vmap.
            try:
                engine = _HookEngine(inner, names, per_ex_loss, penalty)
            except GradStatsError as e:
                if api is None:
                    raise
                notes.append(f'vmap: {e}')
                engine = _VmapEngine(api, inner, names, per_ex_loss, penalty)
        for x, y, indices, total in _batches(loader, rank, world, notes):
            if prog.total is None and total is not None:
                prog.total = total
            B = int(x.shape[0])
            if B != len(indices):
                raise GradStatsError(f'a batch holds {B} inputs but the sampler gave {len(indices)} indices')
            lo = min(range(B), key=lambda b: indices[b])
            hi = max(range(B), key=lambda b: indices[b])
            if first is None or indices[lo] < first[0]:
                first = (indices[lo], _example_bytes(x, lo, indices[lo]))
            if last is None or indices[hi] > last[0]:
                last = (indices[hi], _example_bytes(x, hi, indices[hi]))
            xd = x.to(dev, non_blocking=True)
            yd = y.to(dev, non_blocking=True)
            # vmap materialises B x P per-example gradients: pieces of at most 2^24 numbers unless told
            step = chunk_size or (max(1, min(B, (1 << 24) // max(P, 1))) if isinstance(engine, _VmapEngine) else B)
            for s in range(0, B, step):
                xs, ys = xd[s:s + step], yd[s:s + step]
                try:
                    grads, losses = engine(xs, ys, diagonal)
                except _HooksMismatch as e:
                    if method != 'auto' or api is None:
                        raise
                    notes.append(f'{e}: vmap used instead')
                    engine.close()
                    engine = _VmapEngine(api, inner, names, per_ex_loss, penalty)
                    grads, losses = engine(xs, ys, diagonal)
                except GradStatsError:
                    raise
                except Exception as e:
                    if method == 'auto' and isinstance(engine, _VmapEngine) and done == 0:
                        notes.append(f'vmap failed on the first batch ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}); per-layer hooks used instead')
                        engine = _HookEngine(inner, names, per_ex_loss, penalty)
                        grads, losses = engine(xs, ys, diagonal)
                    else:
                        raise
                if losses.shape != (xs.shape[0],):
                    raise GradStatsError(f'per-example losses have shape {tuple(losses.shape)}, expected ({xs.shape[0]},)')
                with torch.no_grad():
                    sq = sums.add(grads, names, losses)
                del grads
                sqc = sq.cpu().tolist()
                ids = indices[s:s + step]
                top = _merge_top(top, list(zip(ids, sqc)), top_k)
                if per_ex is not None:
                    per_ex.append((ids, sqc))
                if own_idx is not None:
                    own_idx.extend(ids)
                done += len(ids)
            prog.update(done * world)
        loop_seconds = time.time() - t0
        # ----- combine the ranks
        head, grad_sum, diag_sum = sums.head, sums.grad_sum, sums.diag_sum
        if dist is not None:
            def reduce(t):
                if t is None:
                    return None
                if backend == 'gloo' and t.device.type != 'cpu':
                    c = t.cpu()
                    dist.all_reduce(c)
                    return c
                if backend == 'nccl' and t.device.type == 'cpu':
                    c = t.cuda()
                    dist.all_reduce(c)
                    return c.cpu()
                dist.all_reduce(t)
                return t
            head, grad_sum, diag_sum = reduce(head), reduce(grad_sum), reduce(diag_sum)
            gathered = [None] * world
            dist.all_gather_object(gathered, (top, first, last, per_ex, notes))
            top = _merge_top([], [e for g in gathered for e in g[0]], top_k)
            firsts = [g[1] for g in gathered if g[1] is not None]
            lasts = [g[2] for g in gathered if g[2] is not None]
            first = min(firsts, key=lambda e: e[0]) if firsts else None
            last = max(lasts, key=lambda e: e[0]) if lasts else None
            if per_ex is not None:
                per_ex = [c for g in gathered for c in g[3]]
            for g in gathered[1:]:
                for nt in g[4]:
                    if nt not in notes:
                        notes.append(nt)
        head = head.cpu().tolist()
        N = int(round(head[0]))
        if N == 0:
            raise GradStatsError('the loader yielded no examples')
        W = len(names)
        mean_sq = head[2] / N
        mean_grad = (grad_sum / N).cpu()
        gbar2 = float((mean_grad * mean_grad).sum())
        doc = {
            'schema_version': SCHEMA_VERSION,
            'kind': 'heatcap-gradstats',
            'n': N,
            'mean_loss': head[1] / N,
            'mean_sq_norm': mean_sq,
            'mean_grad_sq_norm': gbar2,
            'trace_cov': mean_sq - gbar2,
            'sq_norm_sd': math.sqrt(max(0.0, head[3] / N - mean_sq * mean_sq)),
            'per_weight': [{'name': n, 'mean_sq_norm': head[5 + w] / N, 'size': sizes[w]} for w, n in enumerate(names)],
            'top': [{'index': int(i), 'sq_norm': float(v)} for i, v in top],
            'histogram': _condense(head[5 + W:], head[4]),
        }
        if diagonal:
            diag = (diag_sum / N).cpu()
            if P <= INLINE_VECTOR_MAX:
                doc['diag_second_moment'] = diag.tolist()
                doc['mean_grad'] = mean_grad.tolist()
            elif out is not None:
                base = os.path.splitext(out)[0]
                doc['diag_second_moment_npy'] = os.path.basename(base + '.diag_second_moment.npy')
                doc['mean_grad_npy'] = os.path.basename(base + '.mean_grad.npy')
                if rank == 0:
                    write_npy(base + '.diag_second_moment.npy', diag)
                    write_npy(base + '.mean_grad.npy', mean_grad)
                notes.append(f'{P} parameters: diag_second_moment and mean_grad written to .npy files beside the JSON')
            else:
                notes.append(f'{P} parameters (> {INLINE_VECTOR_MAX}): diag_second_moment omitted (pass out= to get it as .npy files)')
        fp = hashlib.sha256(f'{N}\n'.encode())
        for e in (first, last):
            if e is not None:
                fp.update(e[1])
        doc['model'] = {
            'class_name': type(inner).__name__,
            'parameter_count': sum(p.numel() for _, p in params),
            'trainable_parameter_count': P,
            'sha256': _model_hash(inner),
            'hash_method': HASH_METHOD,
            'has_batchnorm': any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in inner.modules()),
        }
        data = {'n': N, 'fingerprint': fp.hexdigest(), 'fingerprint_method': FINGERPRINT_METHOD}
        ds = getattr(loader, 'dataset', None)
        try:
            if ds is not None:
                data['dataset_length'] = len(ds)
        except TypeError:
            pass
        doc['data'] = data
        lname = loss_name or (type(loss_fn).__name__ if isinstance(loss_fn, nn.Module) else getattr(loss_fn, '__name__', type(loss_fn).__name__))
        doc['loss'] = {'name': lname, 'penalty': penalty is not None}
        red = getattr(loss_fn, 'reduction', None)
        if isinstance(red, str):
            doc['loss']['reduction'] = red
        doc['dtype'] = dtypes[0] if len(dtypes) == 1 else ','.join(dtypes)
        doc['device'] = str(dev) if dev.type != 'cuda' else f'{dev} ({torch.cuda.get_device_name(dev)})'
        doc['world_size'] = world
        if backend is not None:
            doc['backend'] = backend
        doc['method'] = engine.method
        versions = {'heatcap_torch': __version__, 'torch': torch.__version__, 'python': platform.python_version()}
        if torch.version.cuda:
            versions['cuda'] = torch.version.cuda
        try:
            import functorch  # noqa: F401

            versions['functorch'] = functorch.__version__
        except Exception:
            pass
        doc['versions'] = versions
        doc['wall_seconds'] = time.time() - t0
        doc['created_at'] = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
        prog.update(N, final=True)
        if curv_opts is not None:
            if isinstance(engine, _HookEngine):
                engine.close()  # its forward hooks would hold every later pass's activations
            doc['curvature'] = _curvature_section(inner, names, sizes, per_ex_loss, penalty, loader, dist, rank, world,
                                                  backend, dev, chunk_size, curv_opts, N, own_idx, notes, progress, loop_seconds, out)
        doc['notes'] = notes
        if rank == 0 and per_example_path:
            size = max((max(ids) for ids, _ in per_ex if ids), default=-1) + 1
            arr = torch.full((size,), float('nan'), dtype=torch.float64)
            for ids, sq in per_ex:
                arr[torch.as_tensor(ids, dtype=torch.long)] = torch.as_tensor(sq, dtype=torch.float64)
            write_npy(per_example_path, arr)
        if rank == 0 and out is not None:
            write_gradstats(doc, out)
        if dist is not None:
            dist.barrier()
        return doc
    finally:
        if isinstance(engine, _HookEngine):
            engine.close()
        for m, t in modes.items():
            m.training = t
