#!/usr/bin/env bash
# ./test.sh [pytest arguments]: sets up .venv if needed and runs the whole test suite
# (unit, integration against moto, end-to-end against the local platform over HTTP).
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-venv.sh requirements-dev.txt
exec .venv/bin/python -m pytest "$@"
