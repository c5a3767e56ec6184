#!/usr/bin/env bash
# The test command. On a fresh Debian 12 machine it installs what it needs (Debian packages, npm
# packages from the lockfile), builds, then runs typecheck, lint, format check, electronegativity
# and the node:test rings: the test ring (unit, contract, integration, security, browser), then the
# window ring (every bundled runbook walked in Chromium and looked at as a person sees it).
set -euo pipefail
cd "$(dirname "$0")/.."
# Electron's binary is never needed to test: main-process logic runs in Node, the renderer in
# Debian's Chromium. Keep any Electron install step from trying to download it.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1

step() { printf '\n== %s\n' "$*"; }

step "system packages"
./scripts/install-system-deps.sh

step "npm ci"
npm ci --no-audit --no-fund

step "build (electron-vite: main, preload, renderer)"
npm run build

step "typecheck"
npm run typecheck

step "lint"
npm run lint

step "format check"
npm run format:check

step "electronegativity"
npm run electronegativity

# Every ring runs even when one before it fails, so one run reports every failure; any fails the
# command.
step "tests"
rings_ok=true
npm run test:node || rings_ok=false

step "window ring"
npm run test:window || rings_ok=false

step "crash ring"
npm run test:crash || rings_ok=false
$rings_ok
