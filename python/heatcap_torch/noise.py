"""Gradient noise logged during training: the two-batch-size estimator of McCandlish et al. (2018,
"An Empirical Model of Large-Batch Training", appendix A), under the names ``heatcap analyze`` reads.

With ``|G_B|^2`` the squared L2 norm of the gradient of the *mean* loss over B examples,
``E|G_B|^2 = |G|^2 + tr(Sigma)/B``. Two batch sizes B_small < B_big give, for every step, unbiased
estimates of both terms::

    tr(Sigma) = (|G_small|^2 - |G_big|^2) / (1/B_small - 1/B_big)
    |G|^2     = (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)

In data-parallel training the per-rank gradients (before the all-reduce) are the small batches and the
all-reduced gradient is the big one: B_small = per-rank batch, B_big = world_size * B_small. With gradient
accumulation, the micro-batch gradients are the small ones. Log the returned dict every step (or every k
steps) with any logger (TensorBoard ``add_scalar``, Lightning ``self.log_dict``, W&B, a CSV); heatcap
averages the per-step values over the stationary tail of the run, with a batch-means standard error, and
predicts the slope from them when no checkpoint statistics exist. The result is the noise *along the
training trajectory*, not at the optimum the theory uses: it differs from it by O(eta).

Names (``prefix`` defaults to ``gradient_noise/``):
    sq_norm_small, sq_norm_big   the two squared norms as given
    b_small, b_big               the two batch sizes
    trace_cov                    that step's estimate of tr(Sigma)
    grad_sq_norm                 that step's estimate of |G|^2
    b_simple                     trace_cov / grad_sq_norm (noisy per step; informational)
"""
import math
import weakref

import torch

__all__ = ['log_gradient_noise', 'sq_norm', 'GradientNoiseHook']


def _f(x):
    if isinstance(x, torch.Tensor):
        return float(x.detach().double().cpu())
    return float(x)


# Elements per float64 partial sum: a gradient is squared in float64 chunks of at most 32 MB, not as one float64
# copy of a whole (perhaps multi-GB) parameter.
_CHUNK = 1 << 22


def _sq_norm_tensor(g):
    """|g|^2 in float64, as a 0-d tensor on g's device (no host sync)."""
    flat = g.detach().reshape(-1)
    if flat.numel() <= _CHUNK:
        return flat.double().pow(2).sum()
    return torch.stack([c.double().pow(2).sum() for c in flat.split(_CHUNK)]).sum()


def _total(scalars):
    """Sum of 0-d tensors, on the first one's device (a model split over devices has norms on each)."""
    dev = scalars[0].device
    return torch.stack([t.to(dev) for t in scalars]).sum()


def sq_norm(grads):
    """Squared L2 norm, in float64, of a sequence of tensors (e.g. ``p.grad`` for every parameter; None skipped)."""
    total = 0.0
    for g in grads:
        if g is not None:
            total += float(_sq_norm_tensor(g).cpu())
    return total


def log_gradient_noise(sq_norm_small, sq_norm_big, b_small, b_big, prefix='gradient_noise/'):
    """One step's gradient-noise scalars as a dict ``{name: float}`` for any logger.

    Args:
        sq_norm_small: |G_small|^2, the squared norm of a gradient of the mean loss over ``b_small`` examples;
            with several (per-rank or micro-batch) gradients, the mean of their squared norms.
        sq_norm_big: |G_big|^2, the squared norm of the gradient of the mean loss over ``b_big`` examples
            (the all-reduced / accumulated gradient), unscaled (divide out an AMP loss scale) and before clipping.
        b_small, b_big: the two batch sizes, ``b_small < b_big``.
        prefix: prepended to every name; heatcap recognises ``gradient_noise/`` (and ``gns/``, ``noise/``)
            after any other prefix, e.g. ``train/gradient_noise/trace_cov``.
    """
    s, b, bs, bb = _f(sq_norm_small), _f(sq_norm_big), float(b_small), float(b_big)
    if not (0 < bs < bb):
        raise ValueError(f'need 0 < b_small < b_big, got b_small={b_small}, b_big={b_big}')
    trace = (s - b) / (1.0 / bs - 1.0 / bb)
    grad = (bb * b - bs * s) / (bb - bs)
    out = {
        'sq_norm_small': s,
        'sq_norm_big': b,
        'b_small': bs,
        'b_big': bb,
        'trace_cov': trace,
        'grad_sq_norm': grad,
        'b_simple': trace / grad if grad > 0 else math.nan,
    }
    return {prefix + k: v for k, v in out.items()}


# The one-element tensors GradientNoiseHook.scalars all-reduces, one per hook and device, kept for the life of the
# process (a few bytes each) so that their Python objects never die. A gloo worker thread drops its reference to a
# collective's tensors a moment *after* the caller's wait() has returned. If the tensor's Python object is gone by
# then, that last reference frees the Python object on the worker thread, which needs the GIL; if the main thread
# is at that moment destroying the process group with the GIL held (torch 1.13: when the job tears DDP down, the
# Reducer holds the last reference to the group, and ~ProcessGroupGloo joins its worker threads without releasing
# the GIL), each waits for the other for ever. A temporary tensor here did exactly that in 14 of 55 two-rank test
# runs (gdb, every time: the main thread in Reducer::~Reducer -> ~ProcessGroupGloo -> thread::join, a gloo worker
# in runLoop -> TensorImpl::destroy_pyobj_if_needed -> PyEval_AcquireThread; the other rank had exited normally).
_KEEP_ALIVE = []


class GradientNoiseHook:
    """Measures, at no extra backward pass, each rank's gradient before DistributedDataParallel all-reduces it
    (B_small = the per-rank batch) and the all-reduced gradient DDP leaves in ``p.grad`` (B_big = world_size *
    B_small). DDP's own all-reduce (or any communication hook you register) is left as it is.

        hook = GradientNoiseHook(ddp_model)          # once, before training
        loss.backward()
        scalars = hook.scalars(per_rank_batch_size)  # every rank must call it (it all-reduces one scalar)
        if rank == 0: writer_log(scalars, step)

    :meth:`scalars` describes the latest backward, so it may be called every k steps (on the same steps on every
    rank); a forward under ``torch.no_grad()`` (evaluation) in between does not change that. Gradient
    accumulation (``no_sync``) is not supported: call it on steps that all-reduce. :meth:`remove` detaches it.

    How: a tensor hook on every parameter sees this rank's gradient of the parameter before DDP copies it into
    its buckets. No Python object of the hook is ever handed to a gloo worker thread except one all-reduced
    scalar that lives as long as the process, so tearing a job down right after its last :meth:`scalars`, in
    either order (``destroy_process_group()`` first or the DDP model first), leaves no worker thread needing the
    GIL while torch 1.13 destroys the group with it held. (An earlier version replaced DDP's all-reduce by a
    Python communication hook; the bucket tensors it touched carried Python objects into the worker threads,
    and a few in a thousand tear-downs deadlocked.)
    """

    def __init__(self, ddp_model, process_group=None):
        import torch.distributed as dist
        self._dist = dist
        self._group = process_group
        self._world = dist.get_world_size(process_group)
        self._local = []  # this rank's |grad of a parameter|^2 in the latest backward (float64 0-d tensors)
        self._new_backward = True  # a forward with grad enabled ran: its backward's first gradient starts afresh
        self._reduce_buf = None
        self._params = [p for p in ddp_model.parameters() if p.requires_grad]
        me = weakref.ref(self)  # the parameters outlive the hook's user-facing object; no reference cycle through them
        self._handles = [p.register_hook(lambda g, me=me: GradientNoiseHook._on_grad(me, g)) for p in self._params]
        self._handles.append(ddp_model.register_forward_pre_hook(lambda _m, _x, me=me: GradientNoiseHook._on_forward(me)))

    @staticmethod
    def _on_forward(me):
        self = me()
        if self is not None and torch.is_grad_enabled():
            self._new_backward = True

    @staticmethod
    def _on_grad(me, g):
        # Runs in the autograd engine (once per parameter and backward, with the parameter's whole gradient, before
        # AccumulateGrad and DDP's reducer); returns None, so the gradient goes on unchanged.
        self = me()
        if self is None:
            return
        if self._new_backward:
            self._local, self._new_backward = [], False
        self._local.append(_sq_norm_tensor(g))

    def remove(self):
        """Detaches the hook from the model's parameters and forward."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def scalars(self, per_rank_batch_size, prefix='gradient_noise/'):
        """The latest backward's scalars (see :func:`log_gradient_noise`); every rank must call it."""
        if not self._local:
            raise RuntimeError('GradientNoiseHook: no backward since the last call')
        grads = [p.grad for p in self._params if p.grad is not None]
        if not grads:
            raise RuntimeError('GradientNoiseHook: the parameters have no gradient (called before backward?)')
        local = _total(self._local)
        self._local, self._new_backward = [], True
        big = float(_total([_sq_norm_tensor(g) for g in grads]))
        red = self._reduce_buf
        if red is None or red.device != local.device:
            red = self._reduce_buf = torch.zeros(1, dtype=torch.float64, device=local.device)
            _KEEP_ALIVE.append(red)
        red.copy_(local.reshape(1))
        self._dist.all_reduce(red, group=self._group)
        small = float(red) / self._world
        bs = per_rank_batch_size
        return log_gradient_noise(small, big, bs, bs * self._world, prefix=prefix)
