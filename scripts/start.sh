#!/usr/bin/env bash
# Runs the Vigil desktop app from source. Needs the Electron binary, which Electron 45 fetches on
# first use (internet required once); on an offline ceremony machine, install the packaged .deb
# or AppImage instead (scripts/ensure-electron.sh says how).
# Exit codes: those of the steps; 3 when the Electron binary is missing and cannot be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
./scripts/ensure-electron.sh
npm run build
exec npx electron .
