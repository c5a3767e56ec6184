#!/usr/bin/env bash
# Makes sure the Electron binary that `npx electron .` runs is in place. Electron's npm package
# ships without it: its install.js downloads it once (internet required, through @electron/get).
# When it is already there this does nothing; when it cannot be fetched this says so in plain
# words, with what to do instead, and keeps @electron/get's raw error in a log file.
#
# Usage: scripts/ensure-electron.sh [electron-package-dir]   (default: node_modules/electron)
# Environment: VIGIL_DEBUG=1 also shows install.js's own output; ELECTRON_MIRROR and
#   electron_config_cache are passed on to @electron/get unchanged.
# Exit codes: 0 the binary is there (or was just fetched);
#   2 there is no Electron package at all (run `npm ci` first);
#   3 the binary is missing and could not be fetched or installed (start.sh passes this on).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
electron_dir="${1:-$root/node_modules/electron}"

if [ ! -f "$electron_dir/install.js" ] || [ ! -f "$electron_dir/package.json" ]; then
  echo "vigil: no Electron package in $electron_dir; run \`npm ci\` in the Vigil folder first." >&2
  exit 2
fi

version="$(node -p 'require(process.argv[1]).version' "$electron_dir/package.json")"

# Already installed: path.txt names the executable under dist/, and dist/ is this version.
if [ -f "$electron_dir/path.txt" ] && [ -d "$electron_dir/dist" ]; then
  executable="$(cat "$electron_dir/path.txt")"
  installed="$(cat "$electron_dir/dist/version" 2>/dev/null || true)"
  if [ -n "$executable" ] && [ -e "$electron_dir/dist/$executable" ] &&
    [ "${installed#v}" = "$version" ]; then
    exit 0
  fi
fi

platform="$(node -p 'process.platform + "-" + process.arch')"
source_url="${ELECTRON_MIRROR:-https://github.com/electron/electron/releases/download/}"
echo "vigil: fetching the Electron $version binary ($platform), needed once to run from source..." >&2

log_dir="$(mktemp -d "${TMPDIR:-/tmp}/vigil-electron-install.XXXXXX")"
log="$log_dir/install.log"
status=0
if [ "${VIGIL_DEBUG:-}" = 1 ]; then
  node "$electron_dir/install.js" 2>&1 | tee "$log" >&2 || status=$?
else
  node "$electron_dir/install.js" >"$log" 2>&1 || status=$?
fi
if [ "$status" -eq 0 ]; then
  rm -rf "$log_dir"
  exit 0
fi

# install.js prints only the error's stack; these are the network failures among them.
if grep -qiE 'fetch failed|HTTPError|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|socket hang up' "$log"; then
  headline="the Electron binary could not be fetched: this machine cannot reach
  $source_url
  (Electron $version for $platform is downloaded from there once, to run Vigil from source)."
else
  headline="the Electron binary could not be installed (Electron $version for $platform);
  its installer stopped with an error other than a failed download."
fi

cat >&2 <<EOF

vigil: $headline

  An offline ceremony machine does not run Vigil from source: it installs the packaged app.
  On a connected build machine run \`npx electron-builder\` in the Vigil folder (targets and
  settings in electron-builder.yml; output in dist/), then copy the .deb or the AppImage over
  and install it there (sudo apt install ./vigil_<version>_<arch>.deb, or run the AppImage).

  To rehearse meanwhile, without the Electron binary (after \`npm run build\`):
      npx vigil run <runbook.yaml> --rehearsal --answers <answers.yaml> --out <dir>
      xvfb-run -a npm run bridge                               (the UI in Chromium)

  The installer's own error is in $log
  (or run again with VIGIL_DEBUG=1 to see it here).
EOF
exit 3
