import * as os from 'node:os';
import * as path from 'node:path';

/** Where test/e2e/setup.sh installs code-server (outside the repository, reused across runs). */
export const CODE_SERVER_VERSION = process.env.HEATCAP_CODE_SERVER_VERSION ?? '4.100.3';
export const E2E_CACHE = process.env.HEATCAP_E2E_CACHE ?? path.join(os.homedir(), '.cache', 'heatcap-e2e');
export const CODE_SERVER_BIN = path.join(E2E_CACHE, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.HEATCAP_CHROMIUM ?? '/usr/bin/chromium';
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** Screenshots and logs CI keeps (git-ignored). */
export const ARTIFACTS = path.join(REPO_ROOT, '.test-artifacts', 'e2e');
