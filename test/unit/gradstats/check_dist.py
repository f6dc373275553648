"""A 2-process torch.distributed (gloo, loopback) run against the 1-process file. Usage: check_dist.py OUTDIR."""
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from models import make

import heatcap_torch


def loader_for(x, y, world, rank):
    ds = torch.utils.data.TensorDataset(x, y)
    if world > 1:
        s = torch.utils.data.distributed.DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=3)
        return torch.utils.data.DataLoader(ds, batch_size=16, sampler=s)
    return torch.utils.data.DataLoader(ds, batch_size=16)


def worker(rank, world, port, outdir):
    torch.set_num_threads(1)
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    m, x, y = make('cnn', n=201)  # 201: DistributedSampler pads one example, which must not count twice
    model = nn.parallel.DistributedDataParallel(m)
    heatcap_torch.gradstats(model, nn.CrossEntropyLoss(), loader_for(x, y, world, rank), diagonal=True, top_k=10,
                            progress=False, out=os.path.join(outdir, 'two.json'), per_example_path=os.path.join(outdir, 'two.npy'))
    # drop DDP (its Reducer) before the group: destroyed last by the Reducer, a gloo group joins its worker threads
    # holding the GIL and deadlocks if one still has a Python tensor to free (test/unit/noise/check_noise.py)
    del model
    dist.destroy_process_group()


if __name__ == '__main__':
    outdir = sys.argv[1]
    torch.set_num_threads(1)
    m, x, y = make('cnn', n=201)
    heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader_for(x, y, 1, 0), diagonal=True, top_k=10, progress=False,
                            out=os.path.join(outdir, 'one.json'), per_example_path=os.path.join(outdir, 'one.npy'))
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    # fork: the children inherit the imported torch (spawn would import it again, ~5 s each here)
    mp.start_processes(worker, args=(2, port, outdir), nprocs=2, join=True, start_method='spawn')
    print(json.dumps({'ok': True}))
