#!/usr/bin/env bash
# Fails when the committed API reference (docs/api) is not what TypeDoc generates from the doc comments now,
# or when TypeDoc warns (typedoc.json treats warnings as errors). Regenerate with `npm run docs:api`.
set -euo pipefail
cd "$(dirname "$0")/.."
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npx --no-install typedoc --logLevel Warn --out "$fresh"
if ! diff -r docs/api "$fresh" >/dev/null; then
  { diff -ru docs/api "$fresh" || true; } | head -n 40 >&2
  echo "FAIL: docs/api is out of date with the doc comments; run 'npm run docs:api' and commit it." >&2
  exit 1
fi
echo "docs/api is current"
