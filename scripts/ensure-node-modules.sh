#!/usr/bin/env bash
# Installs the pinned CDK CLI (package-lock.json) into node_modules unless exactly that is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "error: node and npm are needed (the CDK CLI, and CDK's jsii runtime, run on node)" >&2
  exit 1
fi
digest=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.installed-package-lock
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "installing the CDK CLI into node_modules" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$digest" > "$stamp"
fi
