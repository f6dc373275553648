// Entry point the extension host `require`s (extensionTestsPath): registers tsx so the suite can stay in
// TypeScript, then hands over to run() in runner.ts.
require('tsx/cjs/api').register();
module.exports = require('./runner.ts');
