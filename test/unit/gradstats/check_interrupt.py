"""KeyboardInterrupt during the loop leaves no file (and the model's training mode restored). Usage: check_interrupt.py OUTDIR."""
import json
import os
import sys

import torch
import torch.nn as nn

from models import make

import heatcap_torch

outdir = sys.argv[1]
m, x, y = make('mlp', n=100)


def loader():
    for i in range(0, 100, 10):
        if i == 50:
            raise KeyboardInterrupt
        yield x[i:i + 10], y[i:i + 10]


m.train()
try:
    heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader(), progress=False, out=os.path.join(outdir, 'g.json'),
                            per_example_path=os.path.join(outdir, 'g.npy'))
    raise SystemExit('no interrupt')
except KeyboardInterrupt:
    pass
print(json.dumps({'files': sorted(os.listdir(outdir)), 'training': m.training}))
