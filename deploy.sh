#!/usr/bin/env bash
# ./deploy.sh -e local [--port N] [--data-dir DIR] [--clock-start ISO8601] [--clock-speed X]
#     runs the whole platform on this machine (sets itself up on first run).
# ./deploy.sh -e dev|staging|prod [-a AWS_PROFILE]
#     deploys the CDK stack to AWS.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
}

environment=""
profile=""
passthrough=()
while [ $# -gt 0 ]; do
  case "$1" in
    -e|--environment) environment="${2:-}"; shift 2 ;;
    -a|--profile) profile="${2:-}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) passthrough+=("$1"); shift ;;
  esac
done

case "$environment" in
  local)
    scripts/ensure-venv.sh requirements-local.txt
    exec .venv/bin/python -m local_platform "${passthrough[@]+"${passthrough[@]}"}"
    ;;
  dev|staging|prod)
    echo "error: deploying to AWS needs the CDK stack, which is not built yet (issue 3, 'The AWS stack as code')." >&2
    echo "       Today only './deploy.sh -e local' works." >&2
    exit 2
    ;;
  "")
    echo "error: say which environment: -e local, or -e dev|staging|prod" >&2
    usage >&2
    exit 2
    ;;
  *)
    echo "error: unknown environment '$environment'; use local, dev, staging or prod" >&2
    exit 2
    ;;
esac
