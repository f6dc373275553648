#!/usr/bin/env bash
# `npm run test:e2e`: the extension in a real VS Code host. Installs what it needs (setup.sh: Debian
# packages and a pinned code-server in ~/.cache/heatcap-e2e, skipped when present), packages the .vsix,
# then runs both suites even when the first fails:
#   1. test/e2e/ui/*.e2e.ts — the packaged extension driven through the UI (mocha + playwright-core);
#   2. test/e2e/runHost.ts  — mocha inside the extension host through @vscode/test-electron.
# Each suite appends its `passed failed` counts to $HEATCAP_TALLY_FILE (the tally reporter); a suite that
# fails before reporting any test is counted here as one failed test, so CI's final line stays honest.
set -uo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)

bash test/e2e/setup.sh || exit 1
echo "e2e: packaging the extension"
npm run --silent package >/dev/null || { echo "e2e: npm run package failed" >&2; exit 1; }

tally_lines() { if [ -n "${HEATCAP_TALLY_FILE:-}" ] && [ -f "$HEATCAP_TALLY_FILE" ]; then wc -l <"$HEATCAP_TALLY_FILE"; else echo 0; fi; }
status=0
suite() { # suite <name> <command…>
  local name="$1"; shift
  local before t0; before=$(tally_lines); t0=$(date +%s)
  echo "e2e: $name"
  if ! "$@"; then
    status=1
    echo "e2e: $name FAILED"
    if [ -n "${HEATCAP_TALLY_FILE:-}" ] && [ "$(tally_lines)" -eq "$before" ]; then echo "0 1" >>"$HEATCAP_TALLY_FILE"; fi
  fi
  echo "e2e: $name took $(( $(date +%s) - t0 )) s"
}

suite "UI suite (code-server + Chromium)" npx mocha --require tsx/cjs --reporter ./test/support/tally-reporter.js --timeout 300000 --slow 15000 'test/e2e/ui/*.e2e.ts'
suite "in-host suite (@vscode/test-electron)" npx tsx test/e2e/runHost.ts
echo "e2e: screenshots and logs in .test-artifacts/e2e/; took $(( $(date +%s) - started )) s"
exit $status
