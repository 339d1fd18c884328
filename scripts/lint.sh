#!/usr/bin/env bash
# Lint the REST contract: redocly (pinned in tools/lint), example files against their
# schemas, and the committed bundle (api/openapi.bundled.yaml, which quiverd embeds and
# serves at /openapi.yaml) must equal a fresh bundle of openapi.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d tools/lint/node_modules ] || npm ci --prefix tools/lint --no-audit --no-fund --loglevel=error
npx --prefix tools/lint redocly lint openapi.yaml --format=summary
/usr/bin/python3 tools/lint/check_examples.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx --prefix tools/lint redocly bundle openapi.yaml -o "$tmp/bundled.yaml" >/dev/null 2>&1
if ! cmp -s "$tmp/bundled.yaml" api/openapi.bundled.yaml; then
  echo "api/openapi.bundled.yaml is stale: run" >&2
  echo "  npx --prefix tools/lint redocly bundle openapi.yaml -o api/openapi.bundled.yaml" >&2
  exit 1
fi
echo "openapi: lint, examples and bundle OK"
