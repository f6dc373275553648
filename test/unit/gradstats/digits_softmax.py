"""The digits softmax checkpoint (examples/digits/checkpoints/softmax, TF.js) rebuilt in PyTorch, and its
gradstats.json over the training data. Usage: digits_softmax.py OUT.json [N] [LOSS_NAME]."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

from models import REPO, digits

import heatcap_torch

torch.set_num_threads(1)
out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != 'all' else None
loss_name = sys.argv[3] if len(sys.argv) > 3 else 'sparse_categorical_crossentropy'
ck = os.path.join(REPO, 'examples', 'digits', 'checkpoints', 'softmax')
manifest = json.load(open(os.path.join(ck, 'model.json')))['weightsManifest'][0]
buf = np.fromfile(os.path.join(ck, manifest['paths'][0]), dtype='<f4')
kernel = buf[:640].reshape(64, 10)
bias = buf[640:650]
model = nn.Linear(64, 10)
with torch.no_grad():
    model.weight.copy_(torch.from_numpy(kernel.T.copy()))
    model.bias.copy_(torch.from_numpy(bias.copy()))
x, y = digits()
if n is not None:
    x, y = x[:n], y[:n]
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=256)
# Keras kernel_regularizer=l2(1e-3): 1e-3 * sum(W^2) is part of every example's loss.
heatcap_torch.gradstats(model, nn.CrossEntropyLoss(), loader, diagonal=True, progress=False, out=out,
                        penalty=lambda p: 1e-3 * p['weight'].pow(2).sum(), loss_name=loss_name)
