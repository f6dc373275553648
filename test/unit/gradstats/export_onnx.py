"""Exports a test model to ONNX with its data and runs heatcap_torch on it (float32). Usage: export_onnx.py KIND OUTDIR [METHOD]."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

from models import make

import heatcap_torch

torch.set_num_threads(1)
kind, outdir = sys.argv[1], sys.argv[2]
method = sys.argv[3] if len(sys.argv) > 3 else 'auto'
m, x, y = make(kind, n=300, dtype=torch.float32)
np.save(os.path.join(outdir, 'x.npy'), x.numpy())
np.save(os.path.join(outdir, 'y.npy'), y.numpy().astype('int32'))
m.eval()
torch.onnx.export(m.eval(), x[:2], os.path.join(outdir, 'model.onnx'), training=torch.onnx.TrainingMode.PRESERVE,
                  do_constant_folding=False, input_names=['input'], output_names=['output'],
                  dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}, opset_version=17)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)
heatcap_torch.gradstats(m, nn.CrossEntropyLoss(), loader, top_k=10, progress=False, method=method, out=os.path.join(outdir, 'gradstats.json'),
                        per_example_path=os.path.join(outdir, 'sq.npy'), loss_name='cross_entropy')
