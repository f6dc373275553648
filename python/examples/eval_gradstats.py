"""A complete evaluation setup for heatcap_torch, runnable in this repository:

    python -m heatcap_torch --script python/examples/eval_gradstats.py --out gradstats.json --diagonal
    heatcap analyze examples/digits/sweeps/softmax-iid --gradstats gradstats.json

or on several GPUs / processes (each rank evaluates its shard; rank 0 writes the file):

    torchrun --nproc_per_node 4 -m heatcap_torch --script python/examples/eval_gradstats.py --out gradstats.json

or directly (`python python/examples/eval_gradstats.py`, see the bottom). The script defines what
heatcap_torch needs: `model` (at the checkpoint whose statistics you want: the optimum the sweep
started from), `loss_fn` (the loss the runs train with, one value per example), `loader` (the whole
training set, no augmentation, any batch size), and optionally `penalty` and `loss_name`.

Here the model is the digits softmax-regression checkpoint (examples/digits/checkpoints/softmax, saved
by TensorFlow.js) rebuilt in PyTorch; replace the three marked blocks with your own model, loss and data.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# ---- 1. the model at the checkpoint (yours: model = MyNet(); model.load_state_dict(torch.load(path)))
ckpt = os.path.join(REPO, 'examples', 'digits', 'checkpoints', 'softmax')
manifest = json.load(open(os.path.join(ckpt, 'model.json')))['weightsManifest'][0]
w = np.fromfile(os.path.join(ckpt, manifest['paths'][0]), dtype='<f4')
model = nn.Linear(64, 10)
with torch.no_grad():
    model.weight.copy_(torch.from_numpy(w[:640].reshape(64, 10).T.copy()))  # Keras kernel is (in, out)
    model.bias.copy_(torch.from_numpy(w[640:650].copy()))

# ---- 2. the loss the runs train with: a torch loss module (its reduction is switched to 'none'), or
# any function (output, target) -> one loss per example. Regularisers the optimiser steps on that are
# part of the logged loss go in `penalty` (params: dict name -> tensor); here Keras' l2(1e-3) on the kernel.
loss_fn = nn.CrossEntropyLoss()
penalty = lambda params: 1e-3 * params['weight'].pow(2).sum()  # noqa: E731
loss_name = 'sparse_categorical_crossentropy'  # the name the runs record (default: the class name)

# ---- 3. the training set, in evaluation form (no random augmentation), any batch size. Under
# torch.distributed give it a DistributedSampler, or none: heatcap_torch shards by rank itself.
x = torch.from_numpy(np.load(os.path.join(REPO, 'examples', 'digits', 'data', 'x.npy')).astype('float32'))
y = torch.from_numpy(np.load(os.path.join(REPO, 'examples', 'digits', 'data', 'y.npy')).astype('int64'))
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=256, num_workers=0)

if __name__ == '__main__':
    import sys

    sys.path.insert(0, os.path.join(REPO, 'python'))
    import heatcap_torch

    doc = heatcap_torch.gradstats(model, loss_fn, loader, diagonal=True, penalty=penalty, loss_name=loss_name, out='gradstats.json')
    print(f"N = {doc['n']}, E||g_b||^2 = {doc['mean_sq_norm']:.6g}, tr Sigma = {doc['trace_cov']:.6g}, method {doc['method']}: wrote gradstats.json")
