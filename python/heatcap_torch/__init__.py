"""heatcap_torch: per-example gradient statistics for SGD Heat Capacity, computed by PyTorch where the
model lives (CPU, GPUs, torch.distributed ranks). One entry point, :func:`gradstats`; a module CLI,
``python -m heatcap_torch --help``. The output, gradstats.json, is read by ``heatcap analyze --gradstats``.
"""
from . import noise
from .core import GradStatsError, SCHEMA_VERSION, gradstats, write_gradstats, write_npy
from .version import __version__

__all__ = ['noise', 'gradstats', 'write_gradstats', 'write_npy', 'GradStatsError', 'SCHEMA_VERSION', '__version__']
