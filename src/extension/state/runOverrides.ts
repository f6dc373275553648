/**
 * What the user changed about runs in the runs view: runs excluded from the fit and learning rates set
 * for runs that record none. Kept per analysed folder in `workspaceState` (never written into the
 * workspace) and passed to the CLI as `--exclude-run <id>` / `--set-lr <id>=<η>`.
 *
 * Run ids are folder names chosen by whoever trained the model, so they are kept in Maps and arrays,
 * never as object keys (a run called `__proto__` must stay a run).
 */

export interface RootOverrides {
  readonly excluded: ReadonlySet<string>;
  readonly lr: ReadonlyMap<string, number>;
}

const EMPTY: RootOverrides = { excluded: new Set(), lr: new Map() };

/** The JSON kept in workspaceState. */
interface Persisted {
  version: 1;
  roots: { root: string; excluded: string[]; lr: [string, number][] }[];
}

const isPositiveFinite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;

export class RunOverrides {
  private constructor(private readonly byRoot: ReadonlyMap<string, RootOverrides>) {}

  static empty(): RunOverrides {
    return new RunOverrides(new Map());
  }

  /** Reads what `toJSON` wrote; anything unreadable is dropped rather than guessed at. */
  static fromJSON(raw: unknown): RunOverrides {
    const byRoot = new Map<string, RootOverrides>();
    if (typeof raw !== 'object' || raw === null || (raw as Persisted).version !== 1 || !Array.isArray((raw as Persisted).roots)) {
      return new RunOverrides(byRoot);
    }
    for (const r of (raw as Persisted).roots) {
      if (typeof r !== 'object' || r === null || typeof r.root !== 'string') continue;
      const excluded = new Set(Array.isArray(r.excluded) ? r.excluded.filter((x): x is string => typeof x === 'string') : []);
      const lr = new Map<string, number>();
      if (Array.isArray(r.lr)) {
        for (const e of r.lr) if (Array.isArray(e) && typeof e[0] === 'string' && isPositiveFinite(e[1])) lr.set(e[0], e[1]);
      }
      if (excluded.size || lr.size) byRoot.set(r.root, { excluded, lr });
    }
    return new RunOverrides(byRoot);
  }

  toJSON(): Persisted {
    return {
      version: 1,
      roots: [...this.byRoot].map(([root, o]) => ({ root, excluded: [...o.excluded].sort(), lr: [...o.lr].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) })),
    };
  }

  for(root: string): RootOverrides {
    return this.byRoot.get(root) ?? EMPTY;
  }

  isExcluded(root: string, runId: string): boolean {
    return this.for(root).excluded.has(runId);
  }

  lrOf(root: string, runId: string): number | undefined {
    return this.for(root).lr.get(runId);
  }

  withExcluded(root: string, runId: string, excluded: boolean): RunOverrides {
    const cur = this.for(root);
    const next = new Set(cur.excluded);
    if (excluded) next.add(runId);
    else next.delete(runId);
    return this.with(root, { excluded: next, lr: cur.lr });
  }

  /** Sets (or with null, forgets) the learning rate the user gave a run. */
  withLr(root: string, runId: string, lr: number | null): RunOverrides {
    if (lr !== null && !isPositiveFinite(lr)) throw new RangeError(`learning rate must be a positive number, got ${lr}`);
    const cur = this.for(root);
    const next = new Map(cur.lr);
    if (lr === null) next.delete(runId);
    else next.set(runId, lr);
    return this.with(root, { excluded: cur.excluded, lr: next });
  }

  private with(root: string, o: RootOverrides): RunOverrides {
    const next = new Map(this.byRoot);
    if (o.excluded.size || o.lr.size) next.set(root, o);
    else next.delete(root);
    return new RunOverrides(next);
  }
}

/**
 * Validates what the user typed as a learning rate ("0.01", "1e-3", " 3E-4 "). Returns the number or
 * the message the input box shows under the field.
 */
export function parseLearningRate(text: string): { ok: true; value: number } | { ok: false; error: string } {
  const t = text.trim();
  if (t === '') return { ok: false, error: 'Enter the learning rate η of this run, e.g. 0.01 or 1e-3.' };
  // Number('0x10') and Number('1_000') are not what a user means by a learning rate: accept decimals only.
  if (!/^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return { ok: false, error: `"${t.slice(0, 40)}" is not a number.` };
  const value = Number(t);
  if (!Number.isFinite(value)) return { ok: false, error: 'The learning rate must be finite.' };
  if (value <= 0) return { ok: false, error: 'The learning rate must be greater than 0.' };
  return { ok: true, value };
}
