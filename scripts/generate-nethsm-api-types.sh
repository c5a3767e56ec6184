#!/usr/bin/env bash
# Regenerates electron/devices/nethsm/api-types.ts from the NetHSM OpenAPI document kept beside
# the repository (../shared), so the wire types are never hand-typed. Runs offline.
# Usage: scripts/generate-nethsm-api-types.sh [output-file]   (default: the committed file)
# The drift test (test/unit/devices/nethsm/api-types-drift.test.ts) calls it with a temp file.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
spec="$repo/../shared/reference/data/nethsm-api.yaml"
out="${1:-$repo/electron/devices/nethsm/api-types.ts}"
raw="$(mktemp "${TMPDIR:-/tmp}/nethsm-api-types.XXXXXX")"
trap 'rm -f "$raw"' EXIT

# Root-level aliases (PublicKey, KeyMechanism, ...) and enum value arrays save callers from
# writing components['schemas'][...] and from retyping enum members.
"$repo/node_modules/.bin/openapi-typescript" "$spec" --output "$raw" --silent \
  --root-types --root-types-no-schema-prefix --root-types-keep-casing --enum-values >/dev/null

if [[ "$(head -n 1 "$raw")" != '/**' ]]; then
  echo "generate-nethsm-api-types: openapi-typescript's banner changed; update this script" >&2
  exit 1
fi
{
  cat <<'HEADER'
// GENERATED — DO NOT EDIT. Regenerate with: scripts/generate-nethsm-api-types.sh
// Source: Nitrokey/nethsm v4.0 (commit 316d24903531b53124dfca08bf56882a98ebb2de)
// docs/nethsm-api.yaml, EUPL-1.2, read from ../shared/reference/data/nethsm-api.yaml.
// Produced by openapi-typescript (pinned in package.json) and formatted by prettier;
// test/unit/devices/nethsm/api-types-drift.test.ts fails when this file and the YAML disagree.
HEADER
  # Drop openapi-typescript's own banner: the header above says the same with the source named.
  sed '1,/^ \*\/$/d' "$raw"
} >"$out.tmp"
mv "$out.tmp" "$out"
"$repo/node_modules/.bin/prettier" --config "$repo/.prettierrc.json" --log-level warn --write "$out"
