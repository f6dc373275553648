/**
 * Topological order of the nodes. ONNX requires nodes to be sorted already, and exporters write them so;
 * when a file is not, the nodes are sorted stably (Kahn's algorithm, ties kept in file order). A value
 * nobody produces, a value produced twice, or a cycle is an error naming the node.
 */
import { HeatcapError } from '../../errors';
import type { GraphNode } from '../../graph/types';

/** `known`: values available before any node runs (graph input, parameters, constants). */
export function topoSort(model: string, nodes: GraphNode[], known: Set<string>): GraphNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (known.has(o) || producer.has(o)) throw new HeatcapError(model, `node '${n.name}': value '${o}' is defined twice`);
      producer.set(o, i);
    }
  });
  const deps = nodes.map((n) => {
    const d = new Set<number>();
    for (const v of n.inputs) {
      if (v === '' || known.has(v)) continue;
      const p = producer.get(v);
      if (p === undefined) throw new HeatcapError(model, `node '${n.name}': input '${v}' is produced by no node, initializer or graph input`);
      d.add(p);
    }
    return d;
  });
  if (deps.every((d, i) => [...d].every((p) => p < i))) return nodes;

  const users: number[][] = nodes.map(() => []);
  const waiting = deps.map((d) => d.size);
  deps.forEach((d, i) => d.forEach((p) => users[p].push(i)));
  const ready = new MinHeap();
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const out: GraphNode[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    out.push(nodes[i]);
    for (const u of users[i]) if (--waiting[u] === 0) ready.push(u);
  }
  if (out.length < nodes.length) {
    const stuck = nodes.find((_, i) => waiting[i] > 0);
    throw new HeatcapError(model, `the graph has a cycle through node '${stuck?.name ?? '?'}'`);
  }
  return out;
}

/** The ready nodes by file index, smallest first (so a sorted file keeps its order). */
class MinHeap {
  private readonly a: number[] = [];

  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  pop(): number | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
