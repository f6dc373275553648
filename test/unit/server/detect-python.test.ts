import { strict as assert } from 'node:assert';
import { detectPython } from '../../../src/server/detect/python';
import { expected, spanOf, summary } from './spans';

// Oracle for every range: plain string search for the literal in its context (spans.ts), exact.
const settings = (src: string) => detectPython(src).settings;
const cellSettings = (src: string) => detectPython(src, { cell: true }).settings;
const one = (src: string) => {
  const s = settings(src);
  assert.equal(s.length, 1, `expected one setting, got ${JSON.stringify(s.map(summary))}`);
  return s[0];
};

describe('server/detect/python', () => {
  describe('optimizer constructors', () => {
    it('torch.optim.SGD(params, lr=0.1, momentum=0.9): keyword, family sgd, momentum from the same call', () => {
      const src = 'opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n';
      const s = one(src);
      assert.deepEqual(summary(s), expected(src, 'lr=0.1', '0.1', 0.1, 'lr', 'keyword_argument'));
      assert.equal(s.optimizer, 'sgd');
      assert.deepEqual(s.momentum, { value: 0.9, key: 'momentum', ...spanOf(src, 'momentum=0.9', '0.9') });
    });

    it('keras.optimizers.Adam(learning_rate=1e-3) and tf.keras.optimizers.SGD(0.01) by position', () => {
      const src = 'a = keras.optimizers.Adam(learning_rate=1e-3)\nb = tf.keras.optimizers.SGD(0.01, momentum=0.5)\n';
      const s = settings(src);
      assert.deepEqual(s.map(summary), [
        expected(src, 'learning_rate=1e-3', '1e-3', 1e-3, 'learning_rate', 'keyword_argument'),
        expected(src, 'SGD(0.01', '0.01', 0.01, 'learning_rate', 'positional_argument'),
      ]);
      assert.deepEqual(s.map((x) => x.optimizer), ['adam', 'sgd']);
      assert.equal(s[1].momentum?.value, 0.5);
    });

    it('optax.sgd(0.1) and optax.adamw(3e-4) by position; optax.chain(0.1) is not an optimizer', () => {
      const src = 'o = optax.sgd(0.1, momentum=0.9)\np = optax.adamw(3e-4)\nq = optax.chain(0.1)\n';
      assert.deepEqual(settings(src).map(summary), [
        expected(src, 'sgd(0.1', '0.1', 0.1, 'learning_rate', 'positional_argument'),
        expected(src, 'adamw(3e-4', '3e-4', 3e-4, 'learning_rate', 'positional_argument'),
      ]);
    });

    it('torch.optim.SGD(params, 0.05): the learning rate is the second positional argument', () => {
      const src = 'opt = torch.optim.SGD(model.parameters(), 0.05)\n';
      assert.deepEqual(summary(one(src)), expected(src, ', 0.05', '0.05', 0.05, 'lr', 'positional_argument'));
    });

    it('tf.compat.v1.train.MomentumOptimizer(0.1, 0.9): TF1, family sgd', () => {
      const src = 'opt = tf.compat.v1.train.MomentumOptimizer(0.1, 0.9)\n';
      const s = one(src);
      assert.deepEqual(summary(s), expected(src, '(0.1', '0.1', 0.1, 'learning_rate', 'positional_argument'));
      assert.equal(s.optimizer, 'sgd');
    });

    it('after *args the positions are unknown, so no positional learning rate is claimed', () => {
      assert.deepEqual(settings('opt = torch.optim.SGD(*groups, 0.1)\n'), []);
    });

    it('any call with an lr keyword counts: TrainingArguments(learning_rate=5e-5, per_device_train_batch_size=16)', () => {
      const src = 'args = TrainingArguments(output_dir="out", learning_rate=5e-5, per_device_train_batch_size=16)\n';
      const s = one(src);
      assert.deepEqual(summary(s), expected(src, 'learning_rate=5e-5', '5e-5', 5e-5, 'learning_rate', 'keyword_argument'));
      assert.equal(s.optimizer, undefined);
      assert.deepEqual(s.batchSize, { value: 16, key: 'per_device_train_batch_size', ...spanOf(src, '=16', '16') });
    });

    it('OneCycleLR(opt, max_lr=0.1) counts; min_lr / lr_decay do not', () => {
      const src = 's = OneCycleLR(opt, max_lr=0.1)\nt = CosineLR(opt, min_lr=1e-6, lr_decay=0.5)\n';
      assert.deepEqual(settings(src).map(summary), [expected(src, 'max_lr=0.1', '0.1', 0.1, 'max_lr', 'keyword_argument')]);
    });
  });

  describe('assignments, dicts, defaults', () => {
    it('plain, upper-case and annotated assignments', () => {
      const src = 'lr = 0.1\nLEARNING_RATE = 3e-4\nbase_lr: float = 0.02\n';
      assert.deepEqual(settings(src).map(summary), [
        expected(src, 'lr = 0.1', '0.1', 0.1, 'lr', 'assignment'),
        expected(src, 'LEARNING_RATE = 3e-4', '3e-4', 3e-4, 'LEARNING_RATE', 'assignment'),
        expected(src, 'float = 0.02', '0.02', 0.02, 'base_lr', 'assignment'),
      ]);
    });

    it('attribute and subscript targets keep the key as written', () => {
      const src = 'self.lr = 0.1\ncfg["learning_rate"] = 1e-3\n';
      assert.deepEqual(settings(src).map(summary), [
        expected(src, 'self.lr = 0.1', '0.1', 0.1, 'self.lr', 'assignment'),
        expected(src, '= 1e-3', '1e-3', 1e-3, 'cfg["learning_rate"]', 'assignment'),
      ]);
    });

    it('chained and tuple assignments pair targets with values', () => {
      const src = 'a = lr = 0.2\nlr2, learning_rate, bs = 7, 0.3, 64\n';
      assert.deepEqual(settings(src).map(summary), [
        expected(src, 'lr = 0.2', '0.2', 0.2, 'lr', 'assignment'),
        expected(src, '0.3', '0.3', 0.3, 'learning_rate', 'assignment'),
      ]);
    });

    it('dict literals, with batch size and momentum from the same dict', () => {
      const src = 'groups = [{"params": p, "lr": 1e-3, "momentum": 0.8, **rest}]\ncfg = {"batch_size": 8}\n';
      const s = one(src);
      assert.deepEqual(summary(s), expected(src, '"lr": 1e-3', '1e-3', 1e-3, 'lr', 'dict_entry'));
      assert.equal(s.momentum?.value, 0.8);
      assert.deepEqual(s.batchSize, { value: 8, key: 'batch_size', ...spanOf(src, '"batch_size": 8', '8') });
    });

    it('function parameter defaults, annotated or not, with batch size from the same parameter list', () => {
      const src = 'def train(model, lr=0.1, *, batch_size: int = 32):\n    pass\n';
      const s = one(src);
      assert.deepEqual(summary(s), expected(src, 'lr=0.1', '0.1', 0.1, 'lr', 'parameter_default'));
      assert.deepEqual(s.batchSize, { value: 32, key: 'batch_size', ...spanOf(src, '= 32', '32') });
    });

    it('argparse and click defaults of --lr / --learning-rate, and a --batch-size default nearby', () => {
      const src = [
        'p.add_argument("--lr", type=float, default=0.2)',
        'p.add_argument("-b", "--batch-size", type=int, default=64)',
        '@click.option("-l", "--learning-rate", default=1e-3)',
        'def main(learning_rate): pass',
        '',
      ].join('\n');
      const s = settings(src);
      assert.deepEqual(s.map(summary), [
        expected(src, 'default=0.2', '0.2', 0.2, '--lr', 'cli_default'),
        expected(src, 'default=1e-3', '1e-3', 1e-3, '--learning-rate', 'cli_default'),
      ]);
      assert.deepEqual(s[0].batchSize, { value: 64, key: '--batch-size', ...spanOf(src, 'default=64', '64') });
    });

    it("a function's parameter defaults are in its body's scope", () => {
      const src = 'def make(model, batch_size=8):\n    return torch.optim.SGD(model.parameters(), lr=0.004)\n';
      assert.deepEqual(one(src).batchSize, { value: 8, key: 'batch_size', ...spanOf(src, 'batch_size=8', '8') });
    });

    it('batch size comes from the same function scope, not from another function', () => {
      const src = 'def a():\n    batch_size = 16\n\ndef b():\n    BATCH_SIZE = 128\n    lr = 0.1\n';
      assert.equal(one(src).batchSize?.value, 128);
    });

    it('number literal forms: underscores, hex, exponent without dot, integer', () => {
      const src = 'lr = 1_0e-4\nLR = 0x1\nlearning_rate = 5E-05\nmax_lr = 2\n';
      assert.deepEqual(
        settings(src).map((s) => s.lr),
        [1e-3, 1, 5e-5, 2],
      );
    });
  });

  describe('what is not a setting', () => {
    it('numbers in comments, strings, docstrings and f-strings', () => {
      const src = [
        '"""Docstring: lr = 0.5 here is text."""',
        '# lr = 0.9',
        'note = "lr=0.7"',
        "msg = f'lr={0.3}'",
        "raw = r'--lr 0.2'",
        '',
      ].join('\n');
      assert.deepEqual(settings(src), []);
    });

    it('non-literal, non-positive, complex or boolean values', () => {
      const src = 'lr = args.lr\nlr = 1e-3 * 4\nlr = -0.1\nlr = 0\nlr = 1j\nlr = True\nlr += 0.1\n';
      assert.deepEqual(settings(src), []);
    });

    it('half-typed code: the unfinished setting gives nothing, a complete one elsewhere stays', () => {
      const src = 'good_lr = 1\nlr = 0.1\nopt = torch.optim.SGD(model.parameters(), lr=\nx = 1\ncfg = {"lr": 0.3,\n';
      assert.deepEqual(settings(src).map(summary), [expected(src, 'lr = 0.1', '0.1', 0.1, 'lr', 'assignment')]);
    });

    it('an unclosed call swallowing the next lines gives nothing', () => {
      assert.deepEqual(settings('opt = torch.optim.Adam(model.parameters(), lr=1e-3\ncfg = {"lr": 0.1,\n'), []);
    });
  });

  describe('notebook cells', () => {
    it('line magics are skipped and a setting after them is still found', () => {
      const src = '%matplotlib inline\n%load_ext autoreload\nlr = 0.3\n';
      assert.deepEqual(cellSettings(src).map(summary), [expected(src, 'lr = 0.3', '0.3', 0.3, 'lr', 'assignment')]);
    });

    it('`!` shell lines and `%run` are read as command lines', () => {
      const src = '!python train.py --lr 0.2 --batch-size 64\n%run train.py --learning_rate=3e-4\nlr = 0.3\n';
      const s = cellSettings(src);
      assert.deepEqual(s.map(summary), [
        expected(src, '--lr 0.2', '0.2', 0.2, '--lr', 'cli_option'),
        expected(src, '=3e-4', '3e-4', 3e-4, '--learning_rate', 'cli_option'),
        expected(src, 'lr = 0.3', '0.3', 0.3, 'lr', 'assignment'),
      ]);
      assert.equal(s[0].batchSize?.value, 64);
    });

    it('a %%bash cell is a shell script; a %%time cell is Python', () => {
      const bash = '%%bash\npython train.py --lr 0.05\n';
      assert.deepEqual(cellSettings(bash).map(summary), [expected(bash, '--lr 0.05', '0.05', 0.05, '--lr', 'cli_option')]);
      const time = '%%time\nlr = 0.4\n';
      assert.deepEqual(cellSettings(time).map(summary), [expected(time, 'lr = 0.4', '0.4', 0.4, 'lr', 'assignment')]);
    });

    it('`%` and `!=` continuing an expression on a new line are Python, not magics', () => {
      const src = 'x = (a\n     % b)\nok = (a\n      != b)\nlr = 0.1\n';
      assert.deepEqual(cellSettings(src).map(summary), [expected(src, 'lr = 0.1', '0.1', 0.1, 'lr', 'assignment')]);
    });

    it('an indented magic in a loop body is still a magic', () => {
      const src = 'for f in files:\n    !python train.py --lr 0.2\n';
      assert.deepEqual(cellSettings(src).map(summary), [expected(src, '--lr 0.2', '0.2', 0.2, '--lr', 'cli_option')]);
    });

    it('in a .py file (not a cell) magics are just syntax errors: no shell settings', () => {
      const src = '!python train.py --lr 0.2\nlr = 0.3\n';
      assert.deepEqual(settings(src).map((s) => s.lr), [0.3]);
    });

    it('a "!" line inside a triple-quoted string is text, not a shell command', () => {
      assert.deepEqual(cellSettings('s = """\n!python train.py --lr 0.2\n"""\n'), []);
    });
  });

  it('offsets count UTF-16 code units (what LSP positions count), also after astral characters', () => {
    const src = '# 😀 ééé\nlr = 0.1  # 学习率\n';
    assert.deepEqual(summary(one(src)), expected(src, 'lr = 0.1', '0.1', 0.1, 'lr', 'assignment'));
  });
});
