import { strict as assert } from 'node:assert';
import { runCli } from '../../support/cli';

describe('heatcap CLI dispatcher', () => {
  it('lists its commands with --help and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /usage: heatcap <command>/);
  });

  it('rejects an unknown command with exit code 2 and names it', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'frobnicate'/);
  });
});

describe('version', () => {
  it('reports the version written in package.json', async () => {
    const pkg = require('../../../package.json') as { version: string };
    const r = await runCli(['--version']);
    assert.equal(r.out.trim(), pkg.version);
  });
});
