import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli';
import { FIXTURE_DIR, fixture } from './fixtures';

describe('heatcap report', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'heatcap-report-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the Markdown summary of a saved result', async () => {
    const { code, out, err } = await runCli(['report', join(FIXTURE_DIR, 'iid-sweep.json')]);
    assert.equal(err, '');
    assert.equal(code, 0);
    assert.match(out, /^# SGD heat capacity — iid$/m);
  });

  it('writes the HTML report and the Markdown summary; with a list, --sweep picks the HTML one', async () => {
    const list = [fixture('iid-sweep'), fixture('reshuffle-sweep')];
    writeFileSync(join(dir, 'all.json'), JSON.stringify(list));
    const { code, out } = await runCli(['report', 'all.json', '--html', 'r/report.html', '--md', 'r/report.md', '--sweep', 'sweeps/reshuffle'], dir);
    assert.equal(code, 0);
    assert.equal(out, `wrote ${join(dir, 'r', 'report.html')}\nwrote ${join(dir, 'r', 'report.md')}\n`);
    assert.match(readFileSync(join(dir, 'r', 'report.html'), 'utf8'), /<title>SGD heat capacity — reshuffle<\/title>/);
    const md = readFileSync(join(dir, 'r', 'report.md'), 'utf8');
    assert.equal((md.match(/^# SGD heat capacity/gm) ?? []).length, 2);
  });

  it('names the file and the first problems of a malformed result (exit 1)', async () => {
    const bad = fixture('iid-sweep') as unknown as { observed: { slope: unknown } };
    bad.observed.slope = 'steep';
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    writeFileSync(join(dir, 'notjson.json'), '{');
    let r = await runCli(['report', 'bad.json'], dir);
    assert.equal(r.code, 1);
    assert.equal(r.err, `heatcap: error: ${join(dir, 'bad.json')}: not an analysis result: observed.slope: expected a finite number\n`);
    r = await runCli(['report', 'notjson.json'], dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /notjson\.json: not JSON/);
    r = await runCli(['report'], dir);
    assert.equal(r.code, 2);
  });
});
