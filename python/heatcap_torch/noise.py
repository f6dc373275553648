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
import time
import weakref

import torch

__all__ = ['log_gradient_noise', 'sq_norm', 'GradientNoiseHook']


def _f(x):
    if isinstance(x, torch.Tensor):
        return float(x.detach().double().cpu())
    return float(x)


def sq_norm(grads):
    """Squared L2 norm, in float64, of a sequence of tensors (e.g. ``p.grad`` for every parameter; None skipped)."""
    total = 0.0
    for g in grads:
        if g is not None:
            total += float(g.detach().double().pow(2).sum().cpu())
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

# How long scalars() waits for the gloo worker threads to let go of the hook's callbacks (see there).
_CALLBACK_RELEASE_TIMEOUT_S = 10.0


class GradientNoiseHook:
    """DistributedDataParallel communication hook that measures each rank's gradient before the all-reduce
    (B_small = the per-rank batch) and the all-reduced gradient (B_big = world_size * B_small), at no extra
    backward pass. Replaces DDP's default all-reduce with the same averaging.

        hook = GradientNoiseHook(ddp_model)          # once, before training
        loss.backward()
        scalars = hook.scalars(per_rank_batch_size)  # every rank must call it (it all-reduces one scalar)
        if rank == 0: writer_log(scalars, step)

    :meth:`scalars` describes the latest backward, so it may be called every k steps (on the same steps on every
    rank). Gradient accumulation (``no_sync``) is not supported: call it on steps that all-reduce.

    Tearing down: let the last backward be followed by a :meth:`scalars` call on every rank before
    ``destroy_process_group()`` or dropping the DDP model. Besides its collective, it waits until the process
    group's worker threads have released the hook's Python callbacks; with torch 1.13, a worker thread that
    still needs the GIL for that while the main thread destroys the gloo group (GIL held) deadlocks the rank.
    """

    def __init__(self, ddp_model, process_group=None):
        import torch.distributed as dist
        self._dist = dist
        self._group = process_group
        self._world = dist.get_world_size(process_group)
        self._local = {}  # bucket index -> this rank's |bucket gradient|^2 (float64 scalar tensor)
        self._global = {}  # bucket index -> |all-reduced bucket gradient|^2
        self._callbacks = []  # weak references to the latest backward's `then` callbacks
        self._reduce_buf = None
        ddp_model.register_comm_hook(self, GradientNoiseHook._hook)

    @staticmethod
    def _hook(state, bucket):
        dist = state._dist
        buf = bucket.buffer() if callable(getattr(bucket, 'buffer', None)) else bucket.get_tensor()
        # DDP launches a backward's buckets in index order, 0 first: a new backward starts afresh.
        i = bucket.index() if callable(getattr(bucket, 'index', None)) else len(state._local)
        if i == 0:
            state._local, state._global, state._callbacks = {}, {}, []
        state._local[i] = buf.detach().double().pow(2).sum()
        buf.div_(state._world)
        fut = dist.all_reduce(buf, group=state._group, async_op=True).get_future()

        def done(f):  # runs on a gloo worker thread (with the GIL), which then also releases it
            out = f.value()[0]
            state._global[i] = out.detach().double().pow(2).sum()
            return out

        # torch 1.13 DDP wants a Python object from a Python hook, hence the `then` even when nothing is computed.
        state._callbacks.append(weakref.ref(done))
        return fut.then(done)

    def scalars(self, per_rank_batch_size, prefix='gradient_noise/'):
        """The latest backward's scalars (see :func:`log_gradient_noise`); every rank must call it."""
        if not self._local or len(self._global) != len(self._local):
            raise RuntimeError('GradientNoiseHook: no gradient was all-reduced since the last call')
        keys = sorted(self._local)
        local = torch.stack([self._local[k] for k in keys]).sum()
        big = float(torch.stack([self._global[k] for k in keys]).sum())
        callbacks = self._callbacks
        self._local, self._global, self._callbacks = {}, {}, []
        red = self._reduce_buf
        if red is None or red.device != local.device:
            red = self._reduce_buf = torch.zeros(1, dtype=torch.float64, device=local.device)
            _KEEP_ALIVE.append(red)
        red.copy_(local.reshape(1))
        self._dist.all_reduce(red, group=self._group)
        small = float(red) / self._world
        # The worker thread that ran a callback frees it just after DDP saw the result, taking the GIL to do so;
        # sleep (GIL released) until it has, so that nothing of this hook is left for a worker thread to do when
        # the job destroys the process group. Not hypothetical: 1-2% of steps still had one here after the
        # all-reduce above, and without this wait 2 of 4 runs of check_noise.py's 20 tear-downs hung.
        deadline = time.monotonic() + _CALLBACK_RELEASE_TIMEOUT_S
        while any(r() is not None for r in callbacks) and time.monotonic() < deadline:
            time.sleep(1e-4)
        bs = per_rank_batch_size
        return log_gradient_noise(small, big, bs, bs * self._world, prefix=prefix)
