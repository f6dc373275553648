import { strict as assert } from 'node:assert';
import type { EngineGraph, GraphNode } from '../../../src/core/graph/types';
import { resolveLoss } from '../../../src/core/gradnorm/loss';
import { planHead } from '../../../src/core/engine/loss-head';

/**
 * Which value the loss head reads. A from-logits loss (PyTorch's `cross_entropy`, `bce_with_logits`) on a
 * model that ends in Softmax or Sigmoid would squash twice; the head reads the logits before that node, the
 * same for both, and the note says so. Other outputs are read as they are.
 */
function graph(lastOp: string | null, shape: number[]): EngineGraph {
  const nodes: GraphNode[] = [{ op: 'MatMul', name: 'fc', inputs: ['x', 'w'], outputs: lastOp ? ['z'] : ['out'], attrs: {} }];
  if (lastOp) nodes.push({ op: lastOp, name: 'final', inputs: ['z'], outputs: ['out'], attrs: {} });
  return { nodes, output: { name: 'out', shape } } as unknown as EngineGraph;
}
const plan = (lastOp: string | null, loss: string, shape = [null as unknown as number, 3]) => planHead(graph(lastOp, shape), resolveLoss(loss, undefined, 'm.onnx'), 'exact');

describe('loss head: which output the loss reads', () => {
  it('cross_entropy on a Softmax output and bce_with_logits on a Sigmoid output read the logits before it, and say so', () => {
    const ce = plan('Softmax', 'cross_entropy');
    assert.equal(ce.input, 'z');
    assert.match(ce.describe, /ends in Softmax 'final'.*softmax twice/);
    const bce = plan('Sigmoid', 'bce_with_logits', [null as unknown as number, 1]);
    assert.equal(bce.kind, 'bce_logits');
    assert.equal(bce.input, 'z');
    assert.match(bce.describe, /ends in Sigmoid 'final'.*sigmoid twice/);
  });

  it('probability losses on a Softmax/Sigmoid output read its logits (exact); outputs without one are read as they are', () => {
    assert.equal(plan('Sigmoid', 'bce', [null as unknown as number, 1]).input, 'z');
    assert.equal(plan('Softmax', 'sparse_categorical_crossentropy').input, 'z');
    assert.equal(plan(null, 'bce_with_logits', [null as unknown as number, 1]).input, 'out');
    assert.equal(plan(null, 'cross_entropy').input, 'out');
    assert.equal(plan('Relu', 'mse').input, 'out');
  });
});
