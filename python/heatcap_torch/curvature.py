"""Top-k Hessian eigenpairs and per-example curvature in their span, for ``gradstats(..., curvature=...)``.

H is the Hessian of the full-dataset loss L(θ) = (1/N) Σ_b ℓ_b(θ) at the current parameters (ℓ_b includes
`penalty` when one is given; an optimiser's coupled weight_decay is not in it). Lanczos with full
reorthogonalisation on Hessian-vector products; each product is one pass over the loader (torch.autograd
double backward of the summed batch losses, accumulated in float64, all-reduced across ranks). The Ritz
vectors V are then refined once (Rayleigh–Ritz on V with k explicit products in one more pass, which also
gives the true residuals ‖Hv − λv‖/|λ_1|), and in the same pass, for every example (or a seeded subsample):
the projections v_iᵀ g_b and v_iᵀ A_b v_j (A_b = ∇²ℓ_b), from ∇ and ∇² of α ↦ ℓ_b(θ + Σ_i α_i v_i) at α = 0
(functorch/torch.func vmap of jacfwd(jacrev), or jacrev(jacrev) where an op has no forward-mode rule; an
autograd loop over examples where vmap cannot trace).

The result is the gradstats.json `curvature` section (schema_version 2), read by src/core/gradstats/read.ts
into the TypeScript `SubspaceCurvature` (src/core/finite-eta/types.ts).
"""
import math
import time

import torch

DEFAULTS = {
    'k': 10,  # eigenpairs (the k largest eigenvalues of H, algebraically)
    'max_iter': 100,  # Lanczos steps (= Hessian-vector products = passes over the data), at most P
    'tol': None,  # relative residual; None: 1e-8 for float64 models, 1e-4 otherwise
    'seed': 0,  # Lanczos start vector and the per-example subsample
    'max_examples': 10000,  # per-example projections on at most this many examples (seeded subsample)
    'per_example_method': 'auto',  # 'auto', 'vmap' or 'loop'
    'basis_device': None,  # where the Lanczos basis (max_iter × P float64) lives; default: the model's device
}


class CurvatureError(Exception):
    pass


def parse_options(curvature):
    """None/False -> None; True -> defaults; int -> k; dict -> defaults updated (unknown keys rejected)."""
    if curvature is None or curvature is False:
        return None
    opts = dict(DEFAULTS)
    if curvature is True:
        return opts
    if isinstance(curvature, int):
        opts['k'] = curvature
    elif isinstance(curvature, dict):
        unknown = sorted(set(curvature) - set(DEFAULTS))
        if unknown:
            raise CurvatureError(f'curvature options: unknown {unknown}; known: {sorted(DEFAULTS)}')
        opts.update(curvature)
    else:
        raise CurvatureError(f'curvature must be True, an int k or a dict of options, got {type(curvature).__name__}')
    if not isinstance(opts['k'], int) or opts['k'] < 1:
        raise CurvatureError(f"curvature k must be a positive integer, got {opts['k']!r}")
    if not isinstance(opts['max_iter'], int) or opts['max_iter'] < 1:
        raise CurvatureError(f"curvature max_iter must be a positive integer, got {opts['max_iter']!r}")
    if opts['tol'] is not None and not (isinstance(opts['tol'], (int, float)) and opts['tol'] > 0):
        raise CurvatureError(f"curvature tol must be a positive number, got {opts['tol']!r}")
    if not isinstance(opts['max_examples'], int) or opts['max_examples'] < 1:
        raise CurvatureError(f"curvature max_examples must be a positive integer, got {opts['max_examples']!r}")
    if opts['per_example_method'] not in ('auto', 'vmap', 'loop'):
        raise CurvatureError(f"curvature per_example_method must be 'auto', 'vmap' or 'loop', got {opts['per_example_method']!r}")
    return opts


def _jac_api():
    """(label, vmap, jacrev, jacfwd, functional_call) or None."""
    try:
        from torch.func import functional_call, jacfwd, jacrev, vmap  # type: ignore

        return 'torch.func.vmap', vmap, jacrev, jacfwd, functional_call
    except ImportError:
        pass
    try:
        from functorch import jacfwd, jacrev, vmap  # type: ignore
        from torch.nn.utils.stateless import functional_call  # type: ignore

        return 'functorch.vmap', vmap, jacrev, jacfwd, functional_call
    except ImportError:
        return None


class _Ctx:
    """What every pass over the data needs (built by core.gradstats)."""

    def __init__(self, model, names, sizes, per_ex_loss, penalty, loader, batches, reduce, dist, rank, world, dev, chunk_size):
        self.model = model
        self.names = names
        self.sizes = sizes
        self.P = sum(sizes)
        self.per_ex_loss = per_ex_loss
        self.penalty = penalty
        self.loader = loader
        self.batches = batches  # callable -> iterator of (x, y, indices)
        self.reduce = reduce  # all-reduce (sum) of a tensor across ranks, returns the reduced tensor
        self.dist = dist
        self.rank = rank
        self.world = world
        self.dev = dev
        self.chunk_size = chunk_size
        pm = dict(model.named_parameters())
        self.params = [pm[n] for n in names]
        self.dtype = self.params[0].dtype

    def split(self, flat):
        """A flat (P,) vector as per-parameter tensors in the model's dtype on its device."""
        flat = flat.to(self.dev, self.dtype)
        return [t.view_as(p) for t, p in zip(flat.split(self.sizes), self.params)]


def _batch_loss(ctx, x, y):
    losses = ctx.per_ex_loss(ctx.model(x), y)
    L = losses.sum()
    if ctx.penalty is not None:
        L = L + losses.shape[0] * ctx.penalty({n: p for n, p in zip(ctx.names, ctx.params)})
    return L


def _hvps(ctx, L, vts):
    """Σ_batch ∇²ℓ · v for each v (list of per-parameter tensors): float64 flat (len(vts), P)."""
    out = torch.zeros(len(vts), ctx.P, dtype=torch.float64, device=ctx.dev)
    g = torch.autograd.grad(L, ctx.params, create_graph=True, allow_unused=True)
    for i, vt in enumerate(vts):
        dot = sum((gi * vi).sum() for gi, vi in zip(g, vt) if gi is not None and gi.requires_grad)
        if not torch.is_tensor(dot) or not dot.requires_grad:
            continue  # the gradient does not depend on the parameters: zero curvature
        hv = torch.autograd.grad(dot, ctx.params, retain_graph=i < len(vts) - 1, allow_unused=True)
        out[i] = torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(hv, ctx.params)]).to(torch.float64)
    return out


def _pass(ctx, vecs, per_example=None):
    """One pass over this rank's examples: H v for each row of vecs (float64 (m, P)), all-reduced and divided
    by N. per_example(x, y, indices) is called on every batch piece (for the per-example projections)."""
    vts = [ctx.split(v) for v in vecs]
    acc = torch.zeros(len(vts), ctx.P, dtype=torch.float64, device=ctx.dev)
    count = torch.zeros(1, dtype=torch.float64, device=ctx.dev)
    for x, y, indices in ctx.batches():
        xd = x.to(ctx.dev, non_blocking=True)
        yd = y.to(ctx.dev, non_blocking=True)
        B = int(xd.shape[0])
        step = ctx.chunk_size or B
        for s in range(0, B, step):
            xs, ys = xd[s:s + step], yd[s:s + step]
            with torch.enable_grad():
                acc += _hvps(ctx, _batch_loss(ctx, xs, ys), vts)
            count += xs.shape[0]
            if per_example is not None:
                per_example(xs, ys, indices[s:s + step])
    acc = ctx.reduce(acc)
    count = ctx.reduce(count)
    return (acc / float(count.item())).to(vecs.device)


# ------------------------------------------------------------------------------ per-example projections
class _PerExampleVmap:
    """∇_α and ∇²_α of α ↦ ℓ_b(θ + Σ α_i v_i) at 0 for a batch of examples: vmap(jacfwd(jacrev)) (forward
    over reverse), or vmap(jacrev(jacrev)) with outer='rev' (torch 1.13 lacks some forward-mode rules, e.g.
    log_softmax's backward)."""

    def __init__(self, api, ctx, Vt, outer='fwd'):
        label, vmap, jacrev, jacfwd, functional_call = api
        self.outer = outer
        self.method = f'{label}(jac{outer}(jacrev))'
        model, names, penalty, per_ex_loss = ctx.model, ctx.names, ctx.penalty, ctx.per_ex_loss
        trainable = set(names)
        fixed = {n: p.detach() for n, p in model.named_parameters() if n not in trainable}
        fixed.update({n: b for n, b in model.named_buffers()})
        p0 = {n: p.detach() for n, p in zip(names, ctx.params)}

        def phi(alpha, xb, yb):
            tp = {n: p0[n] + torch.tensordot(alpha, Vt[n], dims=1) for n in names}
            d = dict(fixed)
            d.update(tp)
            out = functional_call(model, d, (xb.unsqueeze(0),))
            l = per_ex_loss(out, yb.unsqueeze(0)).sum()
            if penalty is not None:
                l = l + penalty(tp)
            return l

        def grad_twice(alpha, xb, yb):
            g = jacrev(phi)(alpha, xb, yb)
            return g, g

        self.fn = vmap((jacfwd if outer == 'fwd' else jacrev)(grad_twice, has_aux=True), in_dims=(None, 0, 0))
        self.alpha = torch.zeros(len(next(iter(Vt.values()))), dtype=ctx.dtype, device=ctx.dev)

    def __call__(self, x, y):
        hess, grad = self.fn(self.alpha, x, y)
        return grad.detach().to(torch.float64), hess.detach().to(torch.float64)


class _PerExampleLoop:
    """The same from a plain autograd loop over the examples: g_b, then k double-backward products A_b v_i."""

    method = 'autograd loop over examples'

    def __init__(self, ctx, Vt):
        self.ctx = ctx
        self.V = [[Vt[n][i] for n in ctx.names] for i in range(len(next(iter(Vt.values()))))]
        self.Vflat = torch.stack([torch.cat([t.reshape(-1) for t in v]) for v in self.V]).to(torch.float64)

    def __call__(self, x, y):
        ctx = self.ctx
        k = len(self.V)
        G = torch.zeros(x.shape[0], k, dtype=torch.float64, device=ctx.dev)
        C = torch.zeros(x.shape[0], k, k, dtype=torch.float64, device=ctx.dev)
        for b in range(x.shape[0]):
            with torch.enable_grad():
                L = _batch_loss(ctx, x[b:b + 1], y[b:b + 1])
                g = torch.autograd.grad(L, ctx.params, create_graph=True, allow_unused=True)
                for i, vt in enumerate(self.V):
                    dot = sum((gi * vi).sum() for gi, vi in zip(g, vt) if gi is not None)
                    if not torch.is_tensor(dot):
                        continue
                    G[b, i] = dot.detach().to(torch.float64)
                    if not dot.requires_grad:
                        continue
                    hv = torch.autograd.grad(dot, ctx.params, retain_graph=i < k - 1, allow_unused=True)
                    hflat = torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(hv, ctx.params)]).to(torch.float64)
                    C[b, i] = self.Vflat @ hflat
        return G, 0.5 * (C + C.transpose(1, 2))


class _Mismatch(Exception):
    pass


def _check_against_loop(ctx, Vt, x, y, G, C):
    """vmap's per-example values against the autograd loop on the first examples: functorch 1.13's
    vmap(jacrev(jacrev)) returns wrong second derivatives w.r.t. LayerNorm's affine parameters (measured
    here: 0.4 % off), so a transform is trusted only once it agrees with plain autograd."""
    Gl, Cl = _PerExampleLoop(ctx, Vt)(x, y)
    tol = 1e-8 if ctx.dtype == torch.float64 else 1e-3
    eg = float((G - Gl).abs().max()) / (float(Gl.abs().max()) + 1e-30)
    ec = float((C - Cl).abs().max()) / (float(Cl.abs().max()) + 1e-30)
    if not (eg <= tol and ec <= tol):
        raise _Mismatch(f'vmap disagrees with the autograd loop on the first examples (relative {max(eg, ec):.2g} > {tol:g})')


# ---------------------------------------------------------------------------------------------- Lanczos
def _tridiag_eigh(alphas, betas):
    j = len(alphas)
    T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if j > 1:
        off = torch.tensor(betas[:j - 1], dtype=torch.float64)
        T += torch.diag(off, 1) + torch.diag(off, -1)
    return torch.linalg.eigh(T)


def _lanczos(ctx, k, max_iter, tol, seed, basis_dev, notes, progress):
    P = ctx.P
    m = min(max_iter, P)
    gen = torch.Generator().manual_seed(int(seed))

    def fresh(Q, j):
        # A start (or restart) vector: seeded normal on the CPU (identical on every rank), made orthogonal to Q[:j].
        for _ in range(3):
            q = torch.randn(P, generator=gen, dtype=torch.float64).to(basis_dev)
            for _ in range(2):
                if j:
                    q -= Q[:j].t() @ (Q[:j] @ q)
            nq = float(q.norm())
            if nq > 1e-8:
                return q / nq
        return None

    Q = torch.zeros(m, P, dtype=torch.float64, device=basis_dev)
    alphas, betas = [], []
    q = fresh(Q, 0)
    j = 0
    restarts = 0
    est = None
    while True:
        Q[j] = q
        w = _pass(ctx, q.unsqueeze(0))[0]
        a = float(q @ w)
        w -= a * q
        if j > 0 and betas[j - 1] != 0.0:
            w -= betas[j - 1] * Q[j - 1]
        for _ in range(2):  # full reorthogonalisation (twice is enough)
            w -= Q[:j + 1].t() @ (Q[:j + 1] @ w)
        b = float(w.norm())
        alphas.append(a)
        j += 1
        theta, S = _tridiag_eigh(alphas, betas)
        order = torch.argsort(theta, descending=True)[:min(k, j)]
        scale = max(float(theta.abs().max()), 1e-300)
        lam1 = max(abs(float(theta[order[0]])), 1e-300)
        est = [b * abs(float(S[j - 1, i])) / lam1 for i in order]
        done = j >= k and max(est) < 0.5 * tol
        stop = done or j >= m
        if progress:
            progress(j, m, float(theta[order[0]]), max(est))
        invariant = b <= 1e-12 * scale
        nxt = None
        if not stop:
            if invariant:
                nxt = fresh(Q, j)  # the Krylov space is invariant: continue in the orthogonal complement
                if nxt is None:
                    stop = True
                else:
                    restarts += 1
                    betas.append(0.0)
            else:
                betas.append(b)
                nxt = w / b
        if ctx.dist is not None:  # every rank takes rank 0's decision (no divergent loop counts)
            flag = torch.tensor([1.0 if stop else 0.0], dtype=torch.float64)
            if str(ctx.dist.get_backend()) == 'nccl':
                flag = flag.cuda()
            ctx.dist.broadcast(flag, 0)
            stop = bool(flag.item() > 0.5)
        if stop:
            break
        q = nxt
    if restarts:
        notes.append(f'Lanczos: the Krylov space became invariant {restarts} time(s); continued from a fresh seeded vector orthogonal to it (eigenvalues of multiplicity > 1 or P small)')
    theta, S = _tridiag_eigh(alphas, betas)
    order = torch.argsort(theta, descending=True)[:min(k, j)]
    Y = S[:, order].t().to(basis_dev) @ Q[:j]  # (k, P) Ritz vectors
    return Y, j, est


# ---------------------------------------------------------------------------------------------- driver
def compute(ctx, opts, *, n_total, indices_all, notes, progress=None, gradient_pass_seconds=None):
    """The `curvature` section (a dict; large arrays as tensors under '_arrays' for the caller to place)."""
    t0 = time.time()
    P = ctx.P
    k = min(opts['k'], P)
    if k < opts['k']:
        notes.append(f"curvature: k = {opts['k']} asked, the model has {P} trainable parameters: k = {P}")
    tol = opts['tol'] if opts['tol'] is not None else (1e-8 if ctx.dtype == torch.float64 else 1e-4)
    basis_dev = torch.device(opts['basis_device']) if opts['basis_device'] is not None else ctx.dev
    max_iter = max(opts['max_iter'], k)

    def prog(j, m, top, res):
        if progress:
            progress(f'curvature: Lanczos step {j}/{m}: λ_1 ≈ {top:.6g}, largest estimated residual {res:.2e}')

    Y, iters, _ = _lanczos(ctx, k, max_iter, tol, opts['seed'], basis_dev, notes, prog)
    k = Y.shape[0]
    if ctx.dist is not None:
        # The ranks ran the same arithmetic on the same all-reduced products; rank 0's basis makes sure of it.
        if str(ctx.dist.get_backend()) == 'nccl' and Y.device.type == 'cpu':
            c = Y.cuda()
            ctx.dist.broadcast(c, 0)
            Y = c.cpu()
        elif str(ctx.dist.get_backend()) != 'nccl' and Y.device.type != 'cpu':
            c = Y.cpu()
            ctx.dist.broadcast(c, 0)
            Y = c.to(Y.device)
        else:
            ctx.dist.broadcast(Y, 0)

    # ----- the examples whose projections are computed: every one, or a seeded subsample by dataset index
    limit = opts['max_examples']
    if n_total <= limit:
        selected = sorted(indices_all)
        subsampled = False
    else:
        gen = torch.Generator().manual_seed(int(opts['seed']) + 1)
        pick = torch.randperm(len(indices_all), generator=gen)[:limit]
        srt = sorted(indices_all)
        selected = sorted(srt[i] for i in pick.tolist())
        subsampled = True
    want = set(selected)

    # ----- one more pass: H y_i (Rayleigh–Ritz and true residuals) and the per-example projections on Y
    Vt = {}
    Yd = Y.to(ctx.dev, ctx.dtype)
    off = 0
    for n, p, size in zip(ctx.names, ctx.params, ctx.sizes):
        Vt[n] = Yd[:, off:off + size].reshape((k,) + tuple(p.shape))
        off += size
    api = _jac_api()
    method = opts['per_example_method']
    if method == 'vmap' and api is None:
        raise CurvatureError("curvature per_example_method='vmap' needs torch.func (torch >= 2.0) or functorch")
    engine = [_PerExampleVmap(api, ctx, Vt) if method != 'loop' and api is not None else _PerExampleLoop(ctx, Vt)]
    got_idx, got_g, got_c = [], [], []
    first = [True]
    if ctx.chunk_size is None and isinstance(engine[0], _PerExampleVmap):
        piece = max(1, (1 << 24) // max(k * P, 1))
    else:
        piece = ctx.chunk_size or 1 << 30

    def per_example(xs, ys, ids):
        rows = [i for i, ix in enumerate(ids) if ix in want]
        if not rows:
            return
        r = torch.as_tensor(rows, device=xs.device)
        xs, ys = xs.index_select(0, r), ys.index_select(0, r)
        for s in range(0, len(rows), piece):
            xa, ya = xs[s:s + piece], ys[s:s + piece]
            while True:
                try:
                    G, C = engine[0](xa, ya)
                    if first[0] and isinstance(engine[0], _PerExampleVmap):
                        _check_against_loop(ctx, Vt, xa[:2], ya[:2], G[:2], C[:2])
                    break
                except Exception as e:
                    if not first[0] or not isinstance(engine[0], _PerExampleVmap) or (method == 'vmap' and engine[0].outer == 'rev'):
                        if isinstance(e, _Mismatch):
                            raise CurvatureError(f'curvature: {e}') from None
                        raise
                    why = str(e) if isinstance(e, _Mismatch) else f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
                    if engine[0].outer == 'fwd':
                        engine[0] = _PerExampleVmap(api, ctx, Vt, outer='rev')
                        msg = f'curvature: forward-over-reverse vmap failed on the first examples ({why}); reverse-over-reverse used'
                    else:
                        engine[0] = _PerExampleLoop(ctx, Vt)
                        msg = f'curvature: vmap failed on the first examples ({why}); autograd loop over examples used instead'
                    notes.append(msg)
            first[0] = False
            got_idx.extend(ids[rows[i]] for i in range(s, min(s + piece, len(rows))))
            got_g.append(G.cpu())
            got_c.append(C.cpu())

    HY = _pass(ctx, Y, per_example)
    G = torch.cat(got_g) if got_g else torch.zeros(0, k, dtype=torch.float64)
    C = torch.cat(got_c) if got_c else torch.zeros(0, k, k, dtype=torch.float64)
    if ctx.dist is not None:
        gathered = [None] * ctx.world
        ctx.dist.all_gather_object(gathered, (got_idx, G, C, notes, engine[0].method))
        methods = []
        for g in gathered:
            if g[4] not in methods:
                methods.append(g[4])
        got_idx = [i for g in gathered for i in g[0]]
        G = torch.cat([g[1] for g in gathered])
        C = torch.cat([g[2] for g in gathered])
        for g in gathered[1:]:
            for nt in g[3]:
                if nt not in notes:
                    notes.append(nt)
    order = sorted(range(len(got_idx)), key=lambda i: got_idx[i])
    got_idx = [got_idx[i] for i in order]
    if got_idx != selected:
        raise CurvatureError(f'curvature: the second pass over the loader saw {len(got_idx)} of the {len(selected)} selected examples (the loader must yield the same examples every time it is iterated)')
    oi = torch.as_tensor(order, dtype=torch.long)
    G, C = G[oi], C[oi]

    # ----- Rayleigh–Ritz on span(Y): V = Rᵀ Y diagonalises VᵀHV; eigenvectors' signs: largest |entry| positive
    M = Y @ HY.t()
    M = 0.5 * (M + M.t())
    lam, R = torch.linalg.eigh(M.cpu())
    desc = torch.argsort(lam, descending=True)
    lam, R = lam[desc], R[:, desc]
    V = R.t().to(Y.device) @ Y
    HV = R.t().to(Y.device) @ HY
    for i in range(k):
        j = int(V[i].abs().argmax())
        if V[i, j] < 0:
            V[i] = -V[i]
            HV[i] = -HV[i]
            R[:, i] = -R[:, i]
    lam1 = max(abs(float(lam[0])), 1e-300)
    residuals = [float((HV[i] - lam[i] * V[i]).norm()) / lam1 for i in range(k)]
    G = G @ R
    C = torch.einsum('ji,bjl,lm->bim', R, C, R)
    C = 0.5 * (C + C.transpose(1, 2))
    converged = all(r < tol for r in residuals)
    seconds = time.time() - t0
    notes.append(
        f'curvature: {k} eigenpairs of the Hessian of the full-dataset loss (penalty included when one was given), '
        f'Lanczos with full reorthogonalisation, {iters} Hessian-vector products + {k} for Rayleigh–Ritz and residuals '
        f'({iters + 1} passes over the data); converged = every residual ‖Hv − λv‖/|λ_1| < {tol:g}'
        + ('' if converged else f' (NOT converged: largest residual {max(residuals):.3g}; raise max_iter)')
    )
    if subsampled:
        notes.append(f'curvature: per-example projections on a uniform subsample of {len(selected)} of the {n_total} examples (seed {opts["seed"]}, by dataset index)')
    sec = {
        'parameters': P,
        'k': k,
        'n': len(selected),
        'eigenvalues': [float(v) for v in lam],
        'residuals': residuals,
        'converged': converged,
        'tolerance': tol,
        'method': 'lanczos',
        'hvp': 'torch_autograd',
        'iterations': iters,
        'hvp_count': iters + k,
        'data_passes': iters + 1,
        'per_example_method': ', '.join(methods) if ctx.dist is not None else engine[0].method,
        'per_example_indices': [int(i) for i in selected],
        'subsampled': subsampled,
        'seed': int(opts['seed']),
        'cost_gradient_passes': (seconds / gradient_pass_seconds) if gradient_pass_seconds else None,
        'seconds': seconds,
    }
    if sec['cost_gradient_passes'] is not None and not math.isfinite(sec['cost_gradient_passes']):
        sec['cost_gradient_passes'] = None
    arrays = {'vectors': V.cpu(), 'per_example_grad_proj': G, 'per_example_curvature': C}
    return sec, arrays
