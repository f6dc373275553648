#!/usr/bin/env bash
# Makes docs/images/panel-finite-eta.png from a real run: the lab trains THEORY.md §6's digits softmax
# regression checkpoint (test/fixtures/finite-eta-sgd) with SGD, B = 8, i.i.d. batches, at six η up to
# half the mean-square limit (≈ 2.6); `heatcap analyze` reads the sweep back as any user's sweep, computes
# the curvature and the finite-η curve; the screenshot script draws the panel of that result.
# Needs Chromium (/usr/bin/chromium). About 1 min of CPU on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
node esbuild.mjs
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node dist/cli.js sweep --model test/fixtures/finite-eta-sgd/softmax-l2-5e-4/model.json \
  --data examples/digits/data/x.npy --labels examples/digits/data/y.npy \
  --lrs 0.131,0.262,0.524,0.785,1.05,1.31 --steps 60000 --burn-in 5000 --batch-size 8 \
  --full-loss-every 100 --log-every 100 --seed 0 --out "$out/sweep" --name digits-softmax-finite-eta
node dist/cli.js analyze "$out/sweep" --json > "$out/result.json"
npx tsx test/unit/webview/screenshots.ts --finite-eta-result "$out/result.json"
