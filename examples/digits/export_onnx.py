"""Exports the digits MLP checkpoint (checkpoints/mlp, TensorFlow.js) as a PyTorch model to ONNX.

What a PyTorch user has: an nn.Module ending in logits, trained with nn.CrossEntropyLoss, exported with
torch.onnx.export. The weights are the TensorFlow.js checkpoint's own (read from its model.json
manifest and shard), so `heatcap gradnorms` on model.onnx and on model.json describe the same network;
the ONNX file has no weight penalty (PyTorch puts weight decay in the optimiser, not the model), so
ℓ_b differs from model.json's by the constant R(Φ) and g_b by the constant ∇R: tr Σ is the same.

Run from the repository root: /usr/bin/python3 examples/digits/export_onnx.py (torch 1.13, onnx).
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "checkpoints", "mlp")
OUT = os.path.join(HERE, "checkpoints", "mlp-onnx", "model.onnx")


def load_tfjs_weights(folder):
    manifest = json.load(open(os.path.join(folder, "model.json")))["weightsManifest"]
    out = {}
    for group in manifest:
        blob = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            assert w["dtype"] == "float32"
            n = int(np.prod(w["shape"]))
            out[w["name"]] = np.frombuffer(blob, dtype="<f4", count=n, offset=offset).reshape(w["shape"])
            offset += 4 * n
    return out


def main():
    w = load_tfjs_weights(SRC)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    with torch.no_grad():
        # TF.js kernels are [in, out]; torch Linear weights are [out, in].
        model[0].weight.copy_(torch.from_numpy(w["dense_Dense1/kernel"].T.copy()))
        model[0].bias.copy_(torch.from_numpy(w["dense_Dense1/bias"].copy()))
        model[2].weight.copy_(torch.from_numpy(w["dense_Dense2/kernel"].T.copy()))
        model[2].bias.copy_(torch.from_numpy(w["dense_Dense2/bias"].copy()))
    model.eval()
    x = torch.zeros(1, 64)
    torch.onnx.export(
        model, x, OUT, opset_version=17,
        training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
        input_names=["input"], output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
