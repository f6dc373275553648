/**
 * Learning-rate settings in Python source and notebook cells, from the @lezer/python syntax tree (an
 * error-recovering LR parser: half-typed code still gives a tree, with error nodes where it broke).
 *
 * What counts (values must be number literals; names are judged by `keys.ts`):
 * - keyword arguments of any call: `torch.optim.SGD(p, lr=0.1)`, `TrainingArguments(learning_rate=5e-5)`;
 * - the positional learning rate of a known optimizer (`optimizers.ts`): `optax.sgd(0.1)`;
 * - `add_argument("--lr", default=0.1)` and `@click.option("--lr", default=0.1)`;
 * - assignments `lr = 0.1`, `self.lr: float = 0.1`, `cfg["lr"] = 0.1`, `lr, bs = 0.1, 64`;
 * - parameter defaults `def train(lr=0.1)` and dict entries `{"lr": 0.1}`.
 * A setting whose statement contains a parse error is dropped: its meaning is not settled yet.
 * Batch size and momentum are taken from the same call / dict / parameter list first, else from the
 * same function, class or module scope (the nearest one by position).
 */
import { parser } from '@lezer/python';
import { TreeFragment, type SyntaxNode, type Tree } from '@lezer/common';
import { classifyKey, isBatchSizeKey, isLrKey, isMomentumKey, isPlausibleLr } from './keys';
import { parsePythonNumber } from './numbers';
import { knownOptimizer, type KnownOptimizer } from './optimizers';
import { detectShell } from './shell';
import { NearbyIndex, type KeyedNumber } from './nearby';
import { MAX_SETTINGS_PER_DOCUMENT, type DetectedSetting, type DetectResult, type Span } from './types';

/** Where a value sits: its container (call, dict, parameter list), its scope and its statement. */
interface Place {
  container: number;
  scope: number;
  statement: Span;
}

interface Candidate extends Place {
  setting: DetectedSetting;
}

/** Computed on first use only: most calls and assignments hold nothing of interest. */
type Where = () => Place;

interface NearbyCandidate {
  kind: 'batchSize' | 'momentum';
  value: KeyedNumber;
  statement: Span;
}

/**
 * The parse a later call can start from: lezer reuses every subtree outside the edited range, so
 * re-parsing a large file after a keystroke costs milliseconds instead of a full parse.
 */
export interface PythonParseState {
  /** The text that was parsed (after magics were blanked). */
  text: string;
  tree: Tree;
}

export interface PythonOptions {
  /** The previous parse of this document, for an incremental re-parse. */
  previous?: PythonParseState;
  /** A notebook cell: IPython magics (`%…`, `!…`, `%%bash`) are understood; in a .py file they are syntax errors. */
  cell?: boolean;
}

export function detectPython(text: string, options: PythonOptions = {}): DetectResult & { state?: PythonParseState } {
  let src = text;
  if (options.cell) {
    // A `%%bash` / `%%sh` / `%%script` cell is a shell script; other cell magics (`%%time`) wrap Python.
    const cell = /^[ \t]*%%(\w+)[^\n]*/.exec(src);
    if (cell) {
      const bodyStart = cell[0].length;
      if (['bash', 'sh', 'script', 'zsh'].includes(cell[1])) {
        return { settings: shifted(detectShell(src.slice(bodyStart)).settings, bodyStart) };
      }
      src = blank(src, [{ start: 0, end: bodyStart }]);
    }
  }
  let tree = parseFrom(src, options.previous);
  let magics: Magic[] = [];
  if (options.cell) ({ src, tree, magics } = blankLineMagics(src, tree));
  const walker = new PythonWalker(src, tree);
  const settings = walker.run();
  const state = { text: src, tree };
  if (walker.truncated) return { settings: [], error: `more than ${MAX_SETTINGS_PER_DOCUMENT} learning-rate values`, state };
  for (const m of magics) {
    if (m.shell) settings.push(...shifted(detectShell(text.slice(m.shell.start, m.shell.end)).settings, m.shell.start));
  }
  settings.sort((a, b) => a.start - b.start);
  return { settings, state };
}

/** Parses `src`, reusing the unchanged parts of a previous parse (one changed range: common prefix and suffix). */
function parseFrom(src: string, previous: PythonParseState | undefined): Tree {
  if (!previous) return parser.parse(src);
  const old = previous.text;
  if (old === src) return previous.tree;
  const max = Math.min(old.length, src.length);
  let prefix = 0;
  while (prefix < max && old.charCodeAt(prefix) === src.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < max - prefix && old.charCodeAt(old.length - 1 - suffix) === src.charCodeAt(src.length - 1 - suffix)) suffix++;
  const change = { fromA: prefix, toA: old.length - suffix, fromB: prefix, toB: src.length - suffix };
  return parser.parse(src, TreeFragment.applyChanges(TreeFragment.addTree(previous.tree), [change]));
}

interface Magic {
  line: Span;
  /** The command line of a `!cmd` or `%run script args` magic. */
  shell?: Span;
}

/** Cells with more candidate lines than this are decided on one parse (each decision below re-parses). */
const MAX_MAGIC_REPARSES = 100;

/**
 * IPython line magics (`%pip …`, `!python train.py --lr 0.1`): lines starting with `%` or `!` that
 * Python cannot read — the parser put an error node there — so not `% b` continuing an expression or
 * `!= b` in a condition, nor text in a string. Decided line by line, blanking each magic and re-parsing
 * (incrementally) before the next: the parser's error recovery would otherwise read the next line's
 * `%run …` as a modulo continuing the broken line above.
 */
function blankLineMagics(src: string, tree: Tree): { src: string; tree: Tree; magics: Magic[] } {
  const candidates: { line: Span; at: number; sigil: string; rest: string }[] = [];
  const re = /^[ \t]*([!%])([^\n]*)/gm;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    candidates.push({ line: { start: m.index, end: m.index + m[0].length }, at: m.index + m[0].length - m[2].length - 1, sigil: m[1], rest: m[2] });
  }
  const magics: Magic[] = [];
  const asMagic = (c: (typeof candidates)[number]): Magic => {
    if (c.sigil === '!') return { line: c.line, shell: { start: c.at + 1, end: c.line.end } };
    if (/^run\s/.test(c.rest)) return { line: c.line, shell: { start: c.at + 5, end: c.line.end } };
    return { line: c.line };
  };
  if (candidates.length > MAX_MAGIC_REPARSES) {
    for (const c of candidates) if (!insideStringOrComment(tree, c.at)) magics.push(asMagic(c));
    const blanked = blank(src, magics.map((m) => m.line));
    return { src: blanked, tree: parseFrom(blanked, { text: src, tree }), magics };
  }
  for (const c of candidates) {
    if (!tree.resolveInner(c.at, 1).type.isError) continue;
    magics.push(asMagic(c));
    const blanked = blank(src, [c.line]);
    tree = parseFrom(blanked, { text: src, tree });
    src = blanked;
  }
  return { src, tree, magics };
}

function insideStringOrComment(tree: Tree, pos: number): boolean {
  for (let n: SyntaxNode | null = tree.resolveInner(pos, 1); n; n = n.parent) {
    if (n.name === 'String' || n.name === 'FormatString' || n.name === 'Comment') return true;
  }
  return false;
}

/** Replaces the spans (sorted, disjoint) by spaces, newlines kept, so every other offset stays where it was. */
function blank(src: string, spans: Span[]): string {
  const parts: string[] = [];
  let at = 0;
  for (const span of spans) {
    parts.push(src.slice(at, span.start), src.slice(span.start, span.end).replace(/[^\n]/g, ' '));
    at = span.end;
  }
  parts.push(src.slice(at));
  return parts.join('');
}

function shifted(settings: DetectedSetting[], by: number): DetectedSetting[] {
  const move = <T extends Span>(s: T): T => ({ ...s, start: s.start + by, end: s.end + by });
  return settings.map((s) => {
    const out = move(s);
    if (s.batchSize) out.batchSize = move(s.batchSize);
    if (s.momentum) out.momentum = move(s.momentum);
    return out;
  });
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

/** Splits a node's children at `,` (dropping brackets), e.g. an ArgList into its arguments. */
function splitAtCommas(nodes: SyntaxNode[]): SyntaxNode[][] {
  const out: SyntaxNode[][] = [[]];
  for (const n of nodes) {
    if (n.name === ',') out.push([]);
    else if (!['(', ')', '[', ']', '{', '}'].includes(n.name)) out[out.length - 1].push(n);
  }
  return out.filter((a) => a.length > 0);
}

/** The text of a plain (non-f, non-bytes) string literal, or undefined. */
function stringValue(src: string, node: SyntaxNode): string | undefined {
  if (node.name !== 'String') return undefined;
  const m = /^[rRuU]?('''|"""|'|")([\s\S]*)\1$/.exec(src.slice(node.from, node.to));
  return m && !m[2].includes('\\') ? m[2] : undefined;
}

class PythonWalker {
  private readonly errors: number[] = [];
  private readonly candidates: Candidate[] = [];
  private readonly nearby: NearbyCandidate[] = [];
  /** Set when the walk stopped early at MAX_SETTINGS_PER_DOCUMENT (a data file, not code). */
  truncated = false;

  constructor(
    private readonly src: string,
    private readonly tree: Tree,
  ) {}

  run(): DetectedSetting[] {
    const cursor = this.tree.cursor();
    do {
      if (cursor.type.isError) {
        this.errors.push(cursor.from);
        continue;
      }
      switch (cursor.name) {
        case 'CallExpression':
        case 'Decorator':
          this.call(cursor.node);
          break;
        case 'AssignStatement':
          this.assignment(cursor.node);
          break;
        case 'DictionaryExpression':
          this.dict(cursor.node);
          break;
        case 'ParamList':
          this.params(cursor.node);
          break;
      }
      if (this.candidates.length > MAX_SETTINGS_PER_DOCUMENT) {
        this.truncated = true;
        return [];
      }
    } while (cursor.next());

    const nearby = this.nearby.filter((n) => !this.hasError(n.statement));
    const index = (kind: NearbyCandidate['kind']) =>
      new NearbyIndex(
        nearby.filter((n) => n.kind === kind).map((n) => n.value),
        () => true,
      );
    const batch = index('batchSize');
    const momentum = index('momentum');
    return this.candidates
      .filter((c) => !this.hasError(c.statement))
      .map((c) => {
        const s = c.setting;
        const at = { start: s.start, container: c.container, scope: c.scope };
        const b = batch.nearest(at);
        const m = momentum.nearest(at);
        if (b) s.batchSize = b;
        if (m) s.momentum = m;
        return s;
      });
  }

  /** Errors were collected in document order, so a binary search finds one inside the span. */
  private hasError(span: Span): boolean {
    let lo = 0;
    let hi = this.errors.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.errors[mid] < span.start) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.errors.length && this.errors[lo] <= span.end;
  }

  private call(node: SyntaxNode): void {
    const kids = children(node);
    const argList = kids.find((k) => k.name === 'ArgList');
    if (!argList) return;
    // The callee is only looked at when an argument could be a setting: most calls hold none.
    let calleeMemo: { name?: string; known?: KnownOptimizer } | undefined;
    const calleeInfo = () => {
      if (!calleeMemo) {
        const name = this.calleeName(node, kids);
        calleeMemo = { name, known: name ? knownOptimizer(name) : undefined };
      }
      return calleeMemo;
    };
    const args = splitAtCommas(children(argList));
    const context = this.where(argList);

    const optionNames: string[] = [];
    let positional = 0;
    let positionsKnown = true;
    for (const arg of args) {
      if (arg.length === 3 && arg[0].name === 'VariableName' && arg[1].name === 'AssignOp') {
        const name = this.text(arg[0]);
        const callee = name === 'default' ? calleeInfo().name : undefined;
        if (callee && /(^|\.)(add_argument|option)$/.test(callee)) {
          const lrOption = optionNames.find((o) => isLrKey(o));
          const batchOption = optionNames.find((o) => isBatchSizeKey(o));
          const momOption = optionNames.find((o) => isMomentumKey(o));
          if (lrOption) this.addSetting(arg[2], lrOption, 'cli_default', context, undefined);
          else if (batchOption) this.addNearby('batchSize', arg[2], batchOption, context);
          else if (momOption) this.addNearby('momentum', arg[2], momOption, context);
        } else {
          if (classifyKey(name)) this.named(name, arg[2], 'keyword_argument', context, calleeInfo().known?.family);
        }
      } else if (arg.length === 1) {
        const option = stringValue(this.src, arg[0]);
        if (option !== undefined && option.startsWith('-')) optionNames.push(option);
        const known = arg[0].name === 'Number' && positionsKnown ? calleeInfo().known : undefined;
        if (known && positional === known.lrPosition) {
          this.addSetting(arg[0], known.lrName, 'positional_argument', context, known.family);
        }
        positional++;
      } else {
        // `*args` shifts every later position by an unknown amount.
        if (arg[0].name === '*') positionsKnown = false;
      }
    }
  }

  /** `torch.optim.SGD` for a call or decorator whose callee is a plain dotted name; undefined otherwise. */
  private calleeName(node: SyntaxNode, kids: SyntaxNode[]): string | undefined {
    if (node.name === 'Decorator') {
      return kids
        .filter((k) => k.name === 'VariableName')
        .map((k) => this.text(k))
        .join('.');
    }
    const callee = kids[0];
    if (callee.name !== 'VariableName' && callee.name !== 'MemberExpression') return undefined;
    const name = this.text(callee).replace(/\s+/g, '');
    return /^[A-Za-z_][\w.]*$/.test(name) ? name : undefined;
  }

  private assignment(node: SyntaxNode): void {
    // `a = b = 0.1` and `lr, bs = 0.1, 64`: groups separated by `=`, the last one holds the values.
    const groups: SyntaxNode[][] = [[]];
    for (const k of children(node)) {
      if (k.name === 'AssignOp') groups.push([]);
      else if (k.name !== 'TypeDef') groups[groups.length - 1].push(k);
    }
    if (groups.length < 2) return;
    const values = splitAtCommas(groups[groups.length - 1]);
    const context = this.where(node);
    for (const group of groups.slice(0, -1)) {
      const targets = splitAtCommas(group);
      if (targets.length !== values.length) continue;
      targets.forEach((target, i) => {
        if (target.length !== 1 || values[i].length !== 1) return;
        const name = this.targetName(target[0]);
        if (name) this.named(name.name, values[i][0], 'assignment', context, undefined, name.key);
      });
    }
  }

  /** `lr` → lr; `self.lr` → lr (key `self.lr`); `cfg["lr"]` → lr (key `cfg["lr"]`). */
  private targetName(node: SyntaxNode): { name: string; key: string } | undefined {
    if (node.name === 'VariableName') return { name: this.text(node), key: this.text(node) };
    if (node.name !== 'MemberExpression') return undefined;
    const kids = children(node);
    const last = kids[kids.length - 1];
    const key = this.text(node);
    if (last.name === 'PropertyName') return { name: this.text(last), key };
    if (last.name === ']' && kids.length >= 2) {
      const s = stringValue(this.src, kids[kids.length - 2]);
      if (s !== undefined) return { name: s, key };
    }
    return undefined;
  }

  private dict(node: SyntaxNode): void {
    const kids = children(node);
    const context = this.where(node);
    for (let i = 1; i + 1 < kids.length; i++) {
      if (kids[i].name !== ':') continue;
      const key = stringValue(this.src, kids[i - 1]);
      if (key !== undefined) this.named(key, kids[i + 1], 'dict_entry', context);
    }
  }

  private params(node: SyntaxNode): void {
    const kids = children(node);
    const context = this.where(node);
    for (let i = 1; i + 1 < kids.length; i++) {
      if (kids[i].name !== 'AssignOp') continue;
      let j = i - 1;
      if (kids[j].name === 'TypeDef' && j > 0) j--;
      if (kids[j].name === 'VariableName') this.named(this.text(kids[j]), kids[i + 1], 'parameter_default', context);
    }
  }

  /** One `name = value` pair: a learning rate, a nearby batch size / momentum, or nothing. */
  private named(
    name: string,
    value: SyntaxNode,
    kind: DetectedSetting['kind'],
    context: Where,
    optimizer?: string,
    key = name,
  ): void {
    const what = classifyKey(name);
    if (what === 'lr') this.addSetting(value, key, kind, context, optimizer);
    else if (what) this.addNearby(what, value, key, context);
  }

  private addSetting(
    value: SyntaxNode,
    key: string,
    kind: DetectedSetting['kind'],
    context: Where,
    optimizer: string | undefined,
  ): void {
    if (value.name !== 'Number') return;
    const text = this.text(value);
    const lr = parsePythonNumber(text);
    if (lr === undefined || !isPlausibleLr(lr)) return;
    const setting: DetectedSetting = { lr, start: value.from, end: value.to, text, key, kind };
    if (optimizer) setting.optimizer = optimizer;
    this.candidates.push({ setting, ...context() });
  }

  private addNearby(kind: NearbyCandidate['kind'], value: SyntaxNode, key: string, context: Where): void {
    if (value.name !== 'Number') return;
    const x = parsePythonNumber(this.text(value));
    if (x === undefined || !Number.isFinite(x)) return;
    const { container, scope, statement } = context();
    this.nearby.push({ kind, statement, value: { name: key, key, value: x, text: this.text(value), start: value.from, end: value.to, container, scope } });
  }

  private where(node: SyntaxNode): Where {
    let place: Place | undefined;
    return () => (place ??= this.place(node));
  }

  /** Where a value found in `node` belongs: its container, its scope and its statement. */
  private place(node: SyntaxNode): Place {
    let statement: Span | undefined;
    let scope = 0;
    for (let n: SyntaxNode | null = node; n; n = n.parent) {
      if (
        !statement &&
        (n.name === 'ParamList' || n.name === 'Decorator' || (n.name.endsWith('Statement') && n.name !== 'DecoratedStatement'))
      ) {
        statement = { start: n.from, end: n.to };
      }
      if (n.name === 'Body' && (n.parent?.name === 'FunctionDefinition' || n.parent?.name === 'ClassDefinition')) {
        scope = n.from;
        break;
      }
      // A function's parameters belong to the scope of its body.
      if (n.name === 'ParamList' && n.parent?.name === 'FunctionDefinition') {
        scope = n.parent.getChild('Body')?.from ?? n.from;
        break;
      }
    }
    return { container: node.from, scope, statement: statement ?? { start: node.from, end: node.to } };
  }

  private text(node: SyntaxNode): string {
    return this.src.slice(node.from, node.to);
  }
}
