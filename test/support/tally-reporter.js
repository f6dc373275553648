'use strict';
// Mocha's spec reporter plus the one summary line CI reads: `N passed, N failed`, followed by
// `, N skipped` when tests were skipped (`this.skip()`, e.g. a test whose external data is absent:
// test/support/external.ts). When HEATCAP_TALLY_FILE is set the counts are also appended there as
// `passed failed skipped`, so .ci/run can add up several suites (unit + real-host) into its final line.
const Mocha = require('mocha');
const fs = require('node:fs');

class TallyReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => passed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => failed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, () => skipped++);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      // A hook failure is reported as a failed "test" by mocha, so it is counted above.
      process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
      const file = process.env.HEATCAP_TALLY_FILE;
      if (file) fs.appendFileSync(file, `${passed} ${failed} ${skipped}\n`);
    });
  }
}
module.exports = TallyReporter;
