#!/usr/bin/env bash
# ./test.sh [pytest arguments]: sets up .venv and the CDK CLI if needed, then runs the whole test suite
# (unit, integration against moto, infrastructure on the synthesized stack, end-to-end over HTTP).
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-venv.sh requirements-dev.txt
scripts/ensure-node-modules.sh
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
exec .venv/bin/python -m pytest "$@"
