"""python -m heatcap_torch --script eval_setup.py --out gradstats.json

The script is run (runpy, as __name__ == '__heatcap__') and must define `model`, `loss_fn` and `loader`;
it may also define `penalty` (a callable params-dict -> scalar added to every example's loss) and
`loss_name` (the name to record, e.g. 'sparse_categorical_crossentropy'). Under torchrun (WORLD_SIZE > 1)
the process group is initialised here when the script has not done it (nccl with CUDA, else gloo).
"""
import argparse
import os
import runpy
import sys

from .core import GradStatsError, gradstats
from .version import __version__


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='python -m heatcap_torch',
        description='Per-example gradient statistics at a checkpoint, for heatcap analyze --gradstats. '
        'The script must define model, loss_fn (one loss per example, or a torch loss module) and loader '
        '(batches of (input, target)); optionally penalty and loss_name.',
    )
    ap.add_argument('--script', required=True, help='Python file defining model, loss_fn, loader')
    ap.add_argument('--out', default='gradstats.json', help='output file (default gradstats.json)')
    ap.add_argument('--device', default=None, help='e.g. cuda, cuda:0, cpu (default: where the model is; under torchrun cuda:LOCAL_RANK when CUDA is available)')
    ap.add_argument('--diagonal', action='store_true', help='also E[g_b^2] per parameter (Adam/RMSprop prediction)')
    ap.add_argument('--top-k', type=int, default=20, help='examples with the largest ||g_b||^2 to record (default 20)')
    ap.add_argument('--per-example', default=None, metavar='FILE.npy', help='write every ||g_b||^2 (float64, by dataset index)')
    ap.add_argument('--method', choices=['auto', 'vmap', 'hooks'], default='auto')
    ap.add_argument('--chunk-size', type=int, default=None, help='evaluate at most this many examples at once')
    ap.add_argument('--curvature', type=int, nargs='?', const=10, default=None, metavar='K',
                    help='also the top-K Hessian eigenpairs (Lanczos, default K = 10) and the per-example projections on them (the curvature section)')
    ap.add_argument('--curvature-examples', type=int, default=None, metavar='M', help='per-example projections on at most M examples (seeded subsample; default 10000)')
    ap.add_argument('--curvature-max-iter', type=int, default=None, metavar='STEPS', help='most Lanczos steps, one pass over the data each (default 100)')
    ap.add_argument('--curvature-tol', type=float, default=None, metavar='TOL', help='relative residual (default 1e-8 for float64 models, 1e-4 otherwise)')
    ap.add_argument('--seed', type=int, default=0, help='Lanczos start vector and the per-example subsample (default 0)')
    ap.add_argument('--no-progress', action='store_true')
    ap.add_argument('--version', action='version', version=f'heatcap_torch {__version__}')
    a = ap.parse_args(argv)

    import torch
    import torch.distributed as dist

    sys.path.insert(0, os.path.dirname(os.path.abspath(a.script)))
    g = runpy.run_path(a.script, run_name='__heatcap__')
    missing = [k for k in ('model', 'loss_fn', 'loader') if k not in g]
    if missing:
        ap.error(f'{a.script} does not define {", ".join(missing)}')
    device = a.device
    if int(os.environ.get('WORLD_SIZE', '1')) > 1 and dist.is_available() and not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', '0')))
        dist.init_process_group('nccl' if cuda else 'gloo')
        if device is None and cuda:
            device = f'cuda:{torch.cuda.current_device()}'
    curvature = None
    if a.curvature is not None:
        curvature = {'k': a.curvature, 'seed': a.seed}
        for key, v in (('max_examples', a.curvature_examples), ('max_iter', a.curvature_max_iter), ('tol', a.curvature_tol)):
            if v is not None:
                curvature[key] = v
    try:
        doc = gradstats(g['model'], g['loss_fn'], g['loader'], device=device, diagonal=a.diagonal, top_k=a.top_k,
                        per_example_path=a.per_example, method=a.method, progress=not a.no_progress,
                        penalty=g.get('penalty'), loss_name=g.get('loss_name'), out=a.out, chunk_size=a.chunk_size,
                        curvature=curvature)
    except GradStatsError as e:
        sys.stderr.write(f'heatcap_torch: error: {e}\n')
        return 2
    except KeyboardInterrupt:
        sys.stderr.write('heatcap_torch: interrupted (no file written)\n')
        return 130
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    if rank == 0:
        sys.stderr.write(f"heatcap_torch: wrote {a.out}: N = {doc['n']}, E||g_b||^2 = {doc['mean_sq_norm']:.6g}, "
                         f"tr Sigma = {doc['trace_cov']:.6g} ({doc['method']}, {doc['wall_seconds']:.1f} s)\n")
        c = doc.get('curvature')
        if c is not None:
            sys.stderr.write(f"heatcap_torch: curvature: lambda_1..{c['k']} = {', '.join(f'{v:.6g}' for v in c['eigenvalues'])}; "
                             f"largest residual {max(c['residuals']):.2g} ({'converged' if c['converged'] else 'NOT converged'}), "
                             f"{c['iterations']} Lanczos steps, per-example projections on {c['n']} examples\n")
    return 0


if __name__ == '__main__':
    sys.exit(main())
