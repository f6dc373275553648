#!/usr/bin/python3
"""PyTorch side of bench/onnx.ts (run with /usr/bin/python3: torch 1.13 + functorch, OpenBLAS).

    /usr/bin/python3 bench/torch_norms.py prepare DIR
        builds the benchmark models (seeded) and exports them to ONNX (opset 17); the data
        (DIR/mlp_x.npy (2560, 784), mlp_y.npy, cnn_x.npy (1024, 1, 28, 28), cnn_y.npy) is bench/onnx.ts's:
          DIR/mlp.onnx   784-512-256-10 ReLU, logits
          DIR/cnn.onnx   NCHW 1x28x28: conv 16 3x3 relu, maxpool 2, conv 32 3x3 relu, maxpool 2, flatten,
                         linear 10
          DIR/digits.onnx  examples/digits/checkpoints/mlp (64-32-10 tanh, softmax) with its model.json
                         weights (no L2 penalty: ONNX has no regularisers)
        and DIR/<name>.pt state dicts. Prints {"torch": version, "onnx_export": true}.
    taskset -c 0 env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_norms.py time DIR 1 [check]
        times, per model, per batch of 256 (median of REPS repetitions over the model's batches, ms):
          goodfellow  (MLP only) explicit Linear matmuls, autograd back to the pre-activations, then
                      ||g_b||^2 = sum_l ||a_b||^2 ||d_b||^2 + ||d_b||^2 and the summed gradients a^T d, sum d
          vmap        functorch vmap(grad(per-example loss)) -> per-example gradients, their squared
                      norms and their sum
        With `check`, writes DIR/<name>_torch_sq.npy: ||g_b||^2 of the first batch computed in float64 (same
        weights upcast; MLP by the Goodfellow form, the others by vmap), the engine's reference.
        Prints one JSON object on stdout.
"""
import copy
import importlib.util
import json
import os
import sys
import time

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from functorch import grad, make_functional_with_buffers, vmap
except ImportError as e:  # the bench prints "not installed"
    print(json.dumps({'error': f'torch not installed: {e}'}))
    sys.exit(0)

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
FIX = os.path.join(REPO, 'test', 'fixtures', 'onnx')
DIGITS = os.path.join(REPO, 'examples', 'digits')
B = 256


def fixtures_module():
    """make_fixtures.py defines ResNetTiny / TransformerTiny; importing it sets one thread and
    deterministic algorithms, which time() resets."""
    spec = importlib.util.spec_from_file_location('make_fixtures', os.path.join(FIX, 'make_fixtures.py'))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def mlp_model():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn_model():
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 5 * 5, 10))


def digits_model():
    return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10), nn.Softmax(dim=1))


def digits_weights():
    """The model.json weights (Dense kernels are (in, out): torch Linear wants (out, in))."""
    d = os.path.join(DIGITS, 'checkpoints', 'mlp')
    m = json.load(open(os.path.join(d, 'model.json')))
    out, off = [], 0
    for group in m['weightsManifest']:
        raw = b''.join(open(os.path.join(d, p), 'rb').read() for p in group['paths'])
        off = 0
        for w in group['weights']:
            n = int(np.prod(w['shape']))
            out.append(np.frombuffer(raw, dtype='<f4', count=n, offset=off).reshape(w['shape']).copy())
            off += 4 * n
    return out


def export(model, sample, path):
    model.eval()
    torch.onnx.export(model, (sample,), path, opset_version=17, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})


def prepare(d):
    torch.manual_seed(0)
    mlp = mlp_model()
    export(mlp, torch.zeros(2, 784), os.path.join(d, 'mlp.onnx'))
    torch.save(mlp.state_dict(), os.path.join(d, 'mlp.pt'))
    cnn = cnn_model()
    export(cnn, torch.zeros(2, 1, 28, 28), os.path.join(d, 'cnn.onnx'))
    torch.save(cnn.state_dict(), os.path.join(d, 'cnn.pt'))

    dig = digits_model()
    w = digits_weights()
    with torch.no_grad():
        dig[0].weight.copy_(torch.from_numpy(w[0].T))
        dig[0].bias.copy_(torch.from_numpy(w[1]))
        dig[2].weight.copy_(torch.from_numpy(w[2].T))
        dig[2].bias.copy_(torch.from_numpy(w[3]))
    export(dig, torch.zeros(2, 64), os.path.join(d, 'digits.onnx'))
    torch.save(dig.state_dict(), os.path.join(d, 'digits.pt'))
    print(json.dumps({'torch': torch.__version__, 'onnx_export': True}))


def load_fixture_weights(model, name):
    """The fixture's own trained weights: model.onnx initializers are named as named_parameters()/buffers."""
    import onnx
    import onnx.numpy_helper
    m = onnx.load(os.path.join(FIX, name, 'model.onnx'))
    init = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    sd = model.state_dict()
    missing = [k for k in sd if k not in init and not k.endswith('num_batches_tracked')]
    if missing:
        raise RuntimeError(f'{name}: initializers missing for {missing}')
    model.load_state_dict({k: init.get(k, v) for k, v in sd.items()})


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def timed(fn, batches, reps, warm=2):
    """Medians over reps of the mean wall and process-CPU time per batch (ms), after `warm` warm-up batches."""
    for b in (batches * warm)[:warm]:
        fn(*b)
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for b in batches:
            fn(*b)
        wall.append((time.perf_counter() - t0) * 1000 / len(batches))
        cpu.append((time.process_time() - c0) * 1000 / len(batches))
    return median(wall), median(cpu)


def goodfellow_mlp(model):
    """Norms + summed gradients with explicit matmuls for the three Linear layers."""
    lins = [m for m in model if isinstance(m, nn.Linear)]
    Ws = [l.weight.detach() for l in lins]
    bs = [l.bias.detach() for l in lins]

    def step(x, y):
        acts, zs = [], []
        a = x
        for i, (W, bias) in enumerate(zip(Ws, bs)):
            acts.append(a)
            z = torch.addmm(bias, a, W.t()).requires_grad_(True) if i == 0 else torch.addmm(bias, a, W.t())
            zs.append(z)
            a = torch.relu(z) if i < len(Ws) - 1 else z
        loss = F.cross_entropy(a, y, reduction='sum')
        deltas = torch.autograd.grad(loss, zs)
        sq = torch.zeros(x.shape[0], dtype=x.dtype)
        sums = []
        for a, d in zip(acts, deltas):
            dd = d.pow(2).sum(1)
            sq = sq + a.pow(2).sum(1) * dd + dd
            sums.append((d.t() @ a, d.sum(0)))
        return sq, sums

    return step


def vmap_norms(model, loss_of, with_buffers=True):
    model.eval()
    fmodel, params, buffers = make_functional_with_buffers(model)

    def loss_one(params, buffers, xb, yb):
        return loss_of(fmodel(params, buffers, xb.unsqueeze(0)), yb.unsqueeze(0))

    g = vmap(grad(loss_one), in_dims=(None, None, 0, 0))

    def step(x, y):
        grads = g(params, buffers, x, y)
        sq = sum(t.reshape(t.shape[0], -1).pow(2).sum(1) for t in grads)
        sums = [t.sum(0) for t in grads]
        return sq, sums

    return step


def ce(ls=0.0):
    """Summed cross-entropy with label smoothing ls, written out (F.cross_entropy's label-smoothing path
    indexes with a boolean mask, which vmap cannot batch)."""
    def f(out, y):
        logp = F.log_softmax(out, dim=1)
        nll = -logp.gather(1, y.view(-1, 1)).squeeze(1)
        return ((1 - ls) * nll - ls * logp.mean(1)).sum() if ls else nll.sum()
    return f


def batches_of(x, y, nb):
    n = min(len(y) // B, nb) if len(y) >= B else 1
    bs = min(B, len(y))
    return [(x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]) for i in range(n)]


def time_all(d, threads, check):
    torch.set_num_threads(threads)
    fx = fixtures_module()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(False)
    torch.set_grad_enabled(True)
    res = {'torch': torch.__version__, 'threads': torch.get_num_threads(),
           'openblas_threads': os.environ.get('OPENBLAS_NUM_THREADS'), 'models': {}}
    reps = 5

    def load(name):
        return (torch.from_numpy(np.load(os.path.join(d, f'{name}_x.npy'))).float(), torch.from_numpy(np.load(os.path.join(d, f'{name}_y.npy'))).long())

    specs = []
    mlp = mlp_model()
    mlp.load_state_dict(torch.load(os.path.join(d, 'mlp.pt')))
    x, y = load('mlp')
    specs.append(('mlp', mlp, x, y, ce(), 10, 1))  # vmap materialises 256 x 535k gradients: 1 batch, 3 reps, no warm-up
    cnn = cnn_model()
    cnn.load_state_dict(torch.load(os.path.join(d, 'cnn.pt')))
    x, y = load('cnn')
    specs.append(('cnn', cnn, x, y, ce(), 4, 2))
    for name, ctor in (('resnet_tiny', fx.ResNetTiny), ('transformer_tiny', fx.TransformerTiny)):
        m = ctor()
        load_fixture_weights(m, name)
        ls = json.load(open(os.path.join(FIX, name, 'oracle.json'))).get('label_smoothing', 0.0)
        xs = torch.from_numpy(np.load(os.path.join(FIX, name, 'x.npy')))
        ys = torch.from_numpy(np.load(os.path.join(FIX, name, 'y.npy'))).long()
        specs.append((name, m, xs, ys, ce(ls), 1, 1))
    dig = digits_model()
    dig.load_state_dict(torch.load(os.path.join(d, 'digits.pt')))
    logits = nn.Sequential(*list(dig)[:-1])  # CE on the logits = CE on the softmax output
    xs = torch.from_numpy(np.load(os.path.join(DIGITS, 'data', 'x.npy')).astype(np.float32))
    ys = torch.from_numpy(np.load(os.path.join(DIGITS, 'data', 'y.npy'))).long()
    specs.append(('digits', logits, xs, ys, ce(), 7, 2))

    for name, model, x, y, loss_of, nb, nb_vmap in specs:
        t_model = time.perf_counter()
        model.eval()
        r = {}
        vm = vmap_norms(model, loss_of)
        vb = batches_of(x, y, nb_vmap)
        r['vmap_ms'], r['vmap_cpu_ms'] = timed(vm, vb, 3, 0) if name == 'mlp' else timed(vm, vb, reps)
        r['vmap_batches'] = len(vb)
        if name == 'mlp':
            gf = goodfellow_mlp(model)
            gb = batches_of(x, y, nb)
            r['goodfellow_ms'], r['goodfellow_cpu_ms'] = timed(gf, gb, reps)
            g32, v32 = gf(*vb[0])[0].detach(), vm(*vb[0])[0].detach()
            r['goodfellow_vs_vmap_max_rel'] = float(((g32 - v32).abs() / v32).max())
        if check:
            # The reference for the engine's norms: the same weights and batch in float64 (float32 torch
            # loses relative accuracy in softmax - onehot at saturated examples; the engine's head is float64).
            m64 = copy.deepcopy(model).double()
            x64 = vb[0][0].double() if vb[0][0].is_floating_point() else vb[0][0]
            step = goodfellow_mlp(m64) if name == 'mlp' else vmap_norms(m64, loss_of)
            sq = step(x64, vb[0][1])[0].detach().numpy()
            np.save(os.path.join(d, f'{name}_torch_sq.npy'), sq)
        r['wall_s'] = time.perf_counter() - t_model
        res['models'][name] = r
        print(name, json.dumps(r), file=sys.stderr)
    print(json.dumps(res))


if __name__ == '__main__':
    mode, d = sys.argv[1], sys.argv[2]
    if mode == 'prepare':
        prepare(d)
    else:
        time_all(d, int(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == 'check')
