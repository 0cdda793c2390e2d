#!/usr/bin/env bash
# Usage: scripts/ensure-venv.sh REQUIREMENTS_FILE
# Creates .venv with python3 (3.11 or newer) if it is missing, and installs REQUIREMENTS_FILE into it
# unless exactly those requirements were installed already. Idempotent; safe on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:?usage: scripts/ensure-venv.sh REQUIREMENTS_FILE}"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found; install Python 3.11 or newer (or set PYTHON=/path/to/python3)" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: Python 3.11 or newer is needed; $python is $("$python" --version 2>&1)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $("$python" --version 2>&1)" >&2
  "$python" -m venv .venv || { echo "error: could not create a virtual environment (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
fi

# The stamp is the hash of the requirement files this one pulls in, so any change reinstalls.
digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
stamp=".venv/.installed-$(basename "$requirements" .txt)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "installing $requirements into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$digest" > "$stamp"
fi
