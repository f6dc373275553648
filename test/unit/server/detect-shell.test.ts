import { strict as assert } from 'node:assert';
import { detectShell } from '../../../src/server/detect/shell';
import { shellCommands } from '../../../src/server/detect/shellWords';
import { expected, spanOf, summary } from './spans';

// Oracle for every range: plain string search for the literal in its context (spans.ts), exact.
const settings = (src: string) => detectShell(src).settings;

describe('server/detect/shellWords', () => {
  // Oracle: bash's own word splitting of these lines (checked with `printf '[%s]' <line>` in bash 5),
  // except that expansions stay unexpanded, one word each: the server never runs anything.
  it('splits words like the shell: quotes, escapes, continuations, comments, expansions', () => {
    const words = (src: string) => shellCommands(src).map((c) => c.map((w) => w.value));
    assert.deepEqual(words(`a "b c" 'd e' f\\ g # h i\nj`), [['a', 'b c', 'd e', 'f g'], ['j']]);
    assert.deepEqual(words('a \\\n  b; c && d | e'), [['a', 'b'], ['c'], ['d'], ['e']]);
    assert.deepEqual(words('x=$(echo 1 2) y=${A:-3} `z w`'), [['x=$(echo 1 2)', 'y=${A:-3}', '`z w`']]);
    assert.deepEqual(words('a"b"c\'d\' e"\\"f"'), [['abcd', 'e"f']]);
    assert.deepEqual(words('cmd > out.txt 2>&1 < in'), [['cmd']]);
  });

  it('skips here-document bodies (<<EOF, <<-EOF, quoted delimiters)', () => {
    const src = "cat <<EOF\n--lr 0.1\nEOF\ncat <<-'END'\n\t--lr 0.2\n\tEND\nnext\n";
    assert.deepEqual(
      shellCommands(src).map((c) => c.map((w) => w.value)),
      [['cat'], ['cat'], ['next']],
    );
  });

  it('records the source offset of every character of a word', () => {
    const src = `--lr="0.1"`;
    const [[w]] = shellCommands(src);
    assert.equal(w.value, '--lr=0.1');
    assert.deepEqual(w.offsets, [0, 1, 2, 3, 4, 6, 7, 8]);
  });
});

describe('server/detect/shell', () => {
  it('--lr 0.1, --learning_rate=3e-4, -lr 0.2, quoted values; batch size and momentum from the same command', () => {
    const src = 'python train.py --lr 0.05 --batch-size 128 \\\n  --momentum=0.9\npython t.py --learning_rate="3e-4" -lr \'0.2\'\n';
    const s = settings(src);
    assert.deepEqual(s.map(summary), [
      expected(src, '--lr 0.05', '0.05', 0.05, '--lr', 'cli_option'),
      expected(src, '"3e-4"', '3e-4', 3e-4, '--learning_rate', 'cli_option'),
      expected(src, "'0.2'", '0.2', 0.2, '-lr', 'cli_option'),
    ]);
    assert.deepEqual(s[0].batchSize, { value: 128, key: '--batch-size', ...spanOf(src, '128', '128') });
    assert.equal(s[0].momentum?.value, 0.9);
  });

  it('Hydra-style overrides and shell variables (also after export)', () => {
    const src = 'LR=0.1\nexport BATCH_SIZE=32\npython train.py optimizer.lr=0.02 +trainer.max_lr=0.4 trainer.epochs=3\n';
    const s = settings(src);
    assert.deepEqual(s.map(summary), [
      expected(src, 'LR=0.1', '0.1', 0.1, 'LR', 'shell_variable'),
      expected(src, 'optimizer.lr=0.02', '0.02', 0.02, 'optimizer.lr', 'cli_override'),
      expected(src, 'max_lr=0.4', '0.4', 0.4, '+trainer.max_lr', 'cli_override'),
    ]);
    assert.equal(s[0].batchSize?.value, 32);
  });

  it('comments, echoed strings, here-documents, expansions and empty values are not settings', () => {
    const src = [
      '# --lr 0.9',
      'echo "--lr 0.7"',
      'python train.py --lr "$LR" --lr=${LR:-0.1} --lr=',
      "cat > run.sh <<'EOF'",
      'python train.py --lr 0.6',
      'EOF',
      'python -c "train(lr=0.3)"',
      '',
    ].join('\n');
    assert.deepEqual(settings(src), []);
  });

  it('leading assignments before a command are variables, later NAME=value words are overrides', () => {
    const src = 'LR=0.1 python train.py lr=0.2\n';
    assert.deepEqual(
      settings(src).map((s) => [s.kind, s.lr]),
      [
        ['shell_variable', 0.1],
        ['cli_override', 0.2],
      ],
    );
  });
});
