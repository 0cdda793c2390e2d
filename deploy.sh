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
    [ -n "$profile" ] && export AWS_PROFILE="$profile"
    export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
    # Everything that can be checked before anything slow runs.
    scripts/ensure-venv.sh requirements-cdk.txt
    scripts/ensure-node-modules.sh
    missing=$(scripts/missing-handlers)
    if [ -n "$missing" ]; then
      echo "error: these functions are wired but their code is not built yet, so they would fail in AWS:" >&2
      echo "$missing" | sed 's/^/         /' >&2
      exit 2
    fi
    if ! account=$(AWS_EC2_METADATA_DISABLED=true .venv/bin/python -c \
        'import boto3; print(boto3.client("sts").get_caller_identity()["Account"])' 2>/dev/null); then
      echo "error: no AWS credentials${profile:+ for profile '$profile'}; configure them (aws configure${profile:+ --profile $profile}) or pass -a PROFILE" >&2
      exit 2
    fi
    stack="ql-algo-trading-${environment}-options-trading-stack"
    echo "deploying $stack to account $account" >&2
    ./test.sh -q
    npx --no-install cdk synth -c env="$environment" --quiet
    mkdir -p .deploy
    approval=broadening
    [ "$environment" = dev ] && approval=never
    npx --no-install cdk deploy -c env="$environment" "$stack" \
        --require-approval "$approval" --outputs-file ".deploy/outputs-${environment}.json"
    echo "outputs: .deploy/outputs-${environment}.json" >&2
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
