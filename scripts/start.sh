#!/usr/bin/env bash
# Runs the Vigil desktop app. Needs the Electron binary, which Electron 45 fetches on first use
# (internet required once); on an offline ceremony machine, install the packaged .deb instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
node node_modules/electron/install.js
npm run build
exec npx electron .
