#!/usr/bin/env bash
# ./test.sh [pytest arguments]: sets up .venv and the CDK CLI if needed, then runs the whole test suite
# (unit, integration against moto, infrastructure on the synthesized stack, end-to-end over HTTP).
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-venv.sh requirements-dev.txt
scripts/ensure-node-modules.sh
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
# Two workers (PYTEST_WORKERS=0 runs in this process alone); a whole file stays on one worker, so
# an end-to-end module's platform is started once and its tests run in their order.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
