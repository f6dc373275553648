#!/usr/bin/env bash
# Installs, once per machine, what the real-host suite needs: Debian packages (Chromium, ripgrep and the
# build prerequisites of code-server's native modules) and code-server itself, pinned, into a cache folder
# outside the repository (so `npm install` of the project stays light). Re-running is cheap: it skips what
# is already there. Recipe and the reasons for each workaround: ../shared/vscode-host.md.
set -euo pipefail
CS_VERSION="${HEATCAP_CODE_SERVER_VERSION:-4.100.3}"
CACHE="${HEATCAP_E2E_CACHE:-$HOME/.cache/heatcap-e2e}"
DIR="$CACHE/code-server-$CS_VERSION"
BIN="$DIR/node_modules/.bin/code-server"

pkgs=(chromium ripgrep build-essential python3 pkg-config libkrb5-dev libxkbfile-dev libsecret-1-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "e2e setup: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -x "$BIN" ]; then
  echo "e2e setup: code-server $CS_VERSION already in $DIR"
  exit 0
fi

echo "e2e setup: installing code-server $CS_VERSION into $DIR (takes a few minutes)"
rm -rf "$DIR.partial" && mkdir -p "$DIR.partial"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# code-server's nested @vscode/ripgrep downloads rg from GitHub unless its cache already holds the
# tarball: pre-fill it with Debian's rg (13.0.0, the version it expects).
export TMPDIR="$work"
rgcache="$work/vscode-ripgrep-cache-1.15.11"
mkdir -p "$rgcache" "$work/rg"
cp /usr/bin/rg "$work/rg/rg"
tar -C "$work/rg" -czf "$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
cd "$DIR.partial"
echo '{ "name": "heatcap-e2e-code-server", "private": true }' >package.json
# node-pty's install runs `npx node-gyp` (needs yes=true); code-server refuses root without unsafe_perm.
npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION"
cd /
rm -rf "$DIR" && mv "$DIR.partial" "$DIR"
HOME="$work" "$BIN" --version
