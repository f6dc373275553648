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
    try:
        doc = gradstats(g['model'], g['loss_fn'], g['loader'], device=device, diagonal=a.diagonal, top_k=a.top_k,
                        per_example_path=a.per_example, method=a.method, progress=not a.no_progress,
                        penalty=g.get('penalty'), loss_name=g.get('loss_name'), out=a.out, chunk_size=a.chunk_size)
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
    return 0


if __name__ == '__main__':
    sys.exit(main())
