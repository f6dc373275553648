import * as path from 'node:path';
import { readdirSync } from 'node:fs';
import Mocha from 'mocha';

/**
 * Runs every `*.host.test.ts` in this folder inside the extension host, with the tally reporter so the
 * counts join CI's `N passed, N failed` line (HEATCAP_TALLY_FILE reaches us through code-server's env).
 */
export function run(): Promise<void> {
  const reporter = require(path.resolve(__dirname, '..', '..', '..', 'support', 'tally-reporter.js'));
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter });
  for (const f of readdirSync(__dirname).filter((n) => n.endsWith('.host.test.ts')).sort()) {
    mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} in-host test(s) failed`)) : resolve()));
  });
}
